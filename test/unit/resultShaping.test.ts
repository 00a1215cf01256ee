// gateway/resultShaping.ts against the function it replaces, Apollo Gateway's own
// computeResponse: the same operations over the same subgraph answers (dashboards,
// fragments, aliases, @skip/@include, nulls that bubble, invalid leaves and typenames,
// missing fields, malformed answers that make the original throw) must give the same
// data and the same errors.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../gateway/federationInternals.ts';
import {
  computeResponse,
  originalComputeResponse,
  type ComputeResponse,
  type ComputeResponseArgs,
} from '../../gateway/resultShaping.ts';
import { mulberry32 } from '../../core/prng.ts';

const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const fed = gatewayRequire('@apollo/federation-internals') as {
  Supergraph: { build(sdl: string): { apiSchema(): unknown } };
  operationFromDocument(
    schema: unknown,
    document: unknown,
    options?: { operationName?: string },
  ): ComputeResponseArgs['operation'];
};

let apiSchema: unknown;
beforeAll(async () => {
  const sdl = await readFile(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');
  apiSchema = fed.Supergraph.build(sdl).apiSchema();
});

type Outcome =
  | { threw: string }
  | { data: unknown; errors: { message: string; path: unknown; code: unknown }[] };

function run(
  shape: ComputeResponse,
  query: string,
  input: unknown,
  variables?: Record<string, unknown>,
): Outcome {
  const operation = fed.operationFromDocument(apiSchema, parse(query));
  try {
    const { data, errors } = shape({
      operation,
      variables,
      // each run gets its own copy: neither may see what the other did to its input
      input: structuredClone(input) as ComputeResponseArgs['input'],
      // as graphql-js answers it: an object without a prototype
      introspectionHandling: (selection) =>
        Object.assign(Object.create(null), { introspected: selection.element.name }),
    });
    return {
      data,
      errors: (errors as { message: string; path: unknown; extensions: { code: unknown } }[]).map(
        (e) => ({ message: e.message, path: e.path, code: e.extensions?.code }),
      ),
    };
  } catch (err) {
    return { threw: (err as Error).message };
  }
}

/**
 * Objects of the original's answers have no prototype; ours have one empty null-prototype
 * object as theirs (faster to fill and to stringify). Either way Object.prototype must
 * not be in the chain: no inherited keys, no `__proto__` setter.
 */
function expectNoObjectPrototype(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  if (!Array.isArray(value)) {
    for (let p = Object.getPrototypeOf(value); p !== null; p = Object.getPrototypeOf(p)) {
      expect(p).not.toBe(Object.prototype);
    }
  }
  for (const v of Object.values(value)) expectNoObjectPrototype(v);
}

/** Runs both; they must agree exactly, in values, key order and errors. */
function expectSame(query: string, input: unknown, variables?: Record<string, unknown>): Outcome {
  const ours = run(computeResponse, query, input, variables);
  const theirs = run(originalComputeResponse, query, input, variables);
  expect(ours).toEqual(theirs);
  expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
  if ('data' in ours) expectNoObjectPrototype(ours.data);
  return ours;
}

const DASHBOARD = `query D($skip: Boolean!, $with: Boolean!) {
  entities(first: 3) {
    nodes {
      id
      kind @include(if: $with)
      label: name @skip(if: $skip)
      __typename
      t: __typename
      series(attribute: "v", from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", bucket: DAY) {
        points { start count avg min max filled }
        tiers
        ... on Series { timeZone }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}`;

const DELETE = Symbol('delete');

/** A subgraph answer for DASHBOARD, with the extra key fields a query plan fetches. */
function dashboardAnswer(random: () => number, points: number): Record<string, unknown> {
  return {
    entities: {
      nodes: Array.from({ length: 3 }, (_, e) => ({
        __typename: 'Entity',
        id: `e-${e}`,
        kind: 'pump',
        label: `Pump ${e}`,
        t: 'Entity',
        series: {
          __typename: 'Series',
          timeZone: 'America/New_York',
          tiers: ['COLD', 'HOT'],
          points: Array.from({ length: points }, (_, i) => ({
            start: new Date(Date.UTC(2026, 0, 1 + i, 5)).toISOString(),
            count: 1 + Math.floor(random() * 100),
            avg: random() * 10 - 5,
            min: random() > 0.9 ? null : -random(),
            max: random(),
            filled: false,
          })),
        },
      })),
      pageInfo: { hasNextPage: false, endCursor: 'e-2' },
    },
  };
}

describe('computeResponse (gateway/resultShaping.ts)', () => {
  it('is what executeQueryPlan calls now', () => {
    const shaping = gatewayRequire('@apollo/gateway/dist/resultShaping.js') as {
      computeResponse: unknown;
    };
    expect(shaping.computeResponse).toBe(computeResponse);
    expect(originalComputeResponse).not.toBe(computeResponse);
  });

  it('shapes a dashboard as the original does, for every @skip/@include combination', () => {
    const random = mulberry32(5);
    for (const skip of [false, true]) {
      for (const include of [false, true]) {
        const out = expectSame(DASHBOARD, dashboardAnswer(random, 20), { skip, with: include });
        expect('data' in out && out.errors).toEqual([]);
      }
    }
  });

  it('bubbles nulls, reports invalid leaves and typenames, as the original does', () => {
    const random = mulberry32(9);
    const variables = { skip: false, with: true };
    // Each case breaks one spot of an otherwise valid answer: a path and what to put
    // there (DELETE: remove the field).
    const breaks: [string, unknown][] = [
      ['entities.nodes.1.series.points.3.count', null], // non-null leaf
      ['entities.nodes.1.series.points.3', null], // non-null list element
      ['entities.nodes.0.series.points.2.avg', DELETE], // missing nullable leaf
      ['entities.nodes.0.id', DELETE], // missing non-null leaf
      ['entities.nodes.2.series.points.0.avg', 'high'], // invalid Float
      ['entities.nodes.2.series.points.0.count', 1.5], // invalid Int
      ['entities.nodes.0.series.tiers', ['COLD', 'LUKEWARM']], // invalid enum value
      ['entities.nodes.0.series.__typename', 'NoSuchType'], // invalid typename
      ['entities.nodes.0.__typename', 'Tenant'], // fragment type does not apply
      ['entities.nodes.1.series', null], // nullable object
      ['entities.nodes', null], // non-null list, up to the root
      ['entities.pageInfo.hasNextPage', 'no'], // invalid Boolean
      ['entities.nodes.0.t', null], // aliased __typename missing
      ['entities.nodes.0.series.points', 'many'], // not a list: the original throws
      ['entities.nodes.0.series', 7], // not an object: the original throws
      ['entities.nodes.0.__typename', 3], // a typename not a string: throws too
    ];
    for (const [i, [at, value]] of breaks.entries()) {
      const answer = dashboardAnswer(random, 5);
      const keys = at.split('.');
      const last = keys.pop()!;
      let parent = answer;
      for (const key of keys) parent = parent[key] as Record<string, unknown>;
      if (value === DELETE) delete parent[last];
      else parent[last] = value;
      const out = expectSame(DASHBOARD, answer, variables);
      // the first cases are departures the original reports as errors
      if (i < 2 || i === 3 || i === 4)
        expect('data' in out && out.errors.length).toBeGreaterThan(0);
    }
    const threw = expectSame(DASHBOARD, { entities: { nodes: 'x' } }, variables);
    expect('threw' in threw).toBe(true);
    expect(
      'threw' in expectSame(DASHBOARD, dashboardAnswer(random, 1), { skip: 'yes', with: true }),
    ).toBe(true);
  });

  it('agrees on random answers with nulls and bad values sprinkled anywhere', () => {
    const random = mulberry32(17);
    const sprinkle = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(sprinkle);
      if (value !== null && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
          const r = random();
          if (r < 0.02) continue; // missing
          out[k] = r < 0.04 ? null : r < 0.05 ? 'bad' : sprinkle(v);
        }
        return out;
      }
      return value;
    };
    for (let i = 0; i < 200; i++) {
      expectSame(DASHBOARD, sprinkle(dashboardAnswer(random, 4)), {
        skip: random() < 0.5,
        with: random() < 0.5,
      });
    }
  });

  it('hands introspection fields to the handler and a null answer back as is', () => {
    const out = expectSame(`{ __type(name: "Entity") { name } tenant { id } }`, {
      tenant: { id: 't' },
    });
    expect('data' in out && out.data).toEqual({
      __type: { introspected: '__type' },
      tenant: { id: 't' },
    });
    expectSame(`{ tenant { id } }`, null);
  });

  it('keeps a field aliased __proto__ as a key like any other', () => {
    // (JSON.parse makes `__proto__` an own key; an object literal would set the prototype)
    const out = expectSame(
      `{ tenant { __proto__: id } }`,
      JSON.parse('{"tenant":{"__proto__":"t"}}'),
    );
    expect(JSON.stringify('data' in out && out.data)).toBe('{"tenant":{"__proto__":"t"}}');
  });
});
