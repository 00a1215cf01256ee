// gateway/rawSubtrees.ts and what uses it: which fields of a subgraph answer may pass
// through the gateway as text (plans), the scanner that cuts them out (against
// JSON.parse), the splice on the way out (against JSON.stringify), the query plan's
// merge (against the package's own deepMerge) and result shaping (against Apollo
// Gateway's own computeResponse on the parsed answer): byte for byte the same answers,
// and the text kept where the client asked what the subgraph answered.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parse } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../gateway/federationInternals.ts';
import { deepMerge, originalDeepMerge } from '../../gateway/planMerge.ts';
import {
  fieldSetNames,
  parseWithRawFields,
  RawJSON,
  rawFieldPlan,
  serializeWithRawSubtrees,
  type RawFieldPlan,
} from '../../gateway/rawSubtrees.ts';
import {
  computeResponse,
  originalComputeResponse,
  type ComputeResponse,
  type ComputeResponseArgs,
} from '../../gateway/resultShaping.ts';
import { mulberry32 } from '../../core/prng.ts';

const none = new Set<string>();
const raw = (signature: string) => ({ signature });
const SERIES = `series(attribute: "v", from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", bucket: DAY)`;

describe('rawFieldPlan', () => {
  it('keeps plain selections, looking inside inline fragments and fragment spreads', () => {
    const entities = `query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Entity { __typename id ${SERIES} { points { start count } tiers } } } }`;
    expect(rawFieldPlan(entities, none)).toEqual(
      new Map([['_entities', new Map([['series', raw('points{start,count},tiers')]])]]),
    );
    const spread = `query { entities(first: 2) { nodes { ...F } } }
      fragment F on Entity { __typename ${SERIES} { points { start } } }`;
    expect(rawFieldPlan(spread, none)).toEqual(
      new Map([['entities', new Map([['nodes', new Map([['series', raw('points{start}')]])]])]]),
    );
  });

  it('goes deeper past aliases, __typename, directives and names a key needs', () => {
    const query = (inner: string) =>
      `query($x: Boolean!) { tenant { __typename ${SERIES} { ${inner} } } }`;
    const at = (plan: RawFieldPlan | null) => plan && plan.get('tenant');
    // an alias inside: the series is not raw, the aliased list is (its own key)
    expect(at(rawFieldPlan(query('pts: points { start } tiers'), none))).toEqual(
      new Map([['series', new Map([['pts', raw('start')]])]]),
    );
    expect(at(rawFieldPlan(query('points { __typename start }'), none))).toBeNull();
    expect(at(rawFieldPlan(query('points { start @include(if: $x) }'), none))).toBeNull();
    expect(at(rawFieldPlan(query('points { start start }'), none))).toBeNull();
    expect(at(rawFieldPlan(query('points { start } points { count }'), none))).toBeNull();
    // the same selection twice is one field (the series holding both is not plain)
    expect(at(rawFieldPlan(query('points { start } points { start }'), none))).toEqual(
      new Map([['series', new Map([['points', raw('start')]])]]),
    );
    // a directive on the field itself: not raw, but what it holds may be
    expect(
      rawFieldPlan(
        `query($x: Boolean!) { tenant { ${SERIES} @include(if: $x) { points { start } } } }`,
        none,
      ),
    ).toEqual(new Map([['tenant', new Map([['series', new Map([['points', raw('start')]])]])]]));
    // a field a key or requires reads: never raw, nor anything holding it
    const excluded = fieldSetNames(
      `type A @join__type(graph: X, key: "id owner { id }") { w: Int @join__field(graph: Y, requires: "size { kg }") }`,
    );
    expect([...excluded].sort()).toEqual(['owner', 'size']);
    expect(rawFieldPlan(`{ tenant { owner { id } other { id } } }`, excluded)).toEqual(
      new Map([['tenant', new Map([['other', raw('id')]])]]),
    );
  });

  it('gives up where the operation is not known: no plan, the answer is parsed', () => {
    expect(rawFieldPlan('{ tenant { id } } { tenant { id } }', none)).toBeNull();
    expect(rawFieldPlan('{ tenant { id ', none)).toBeNull();
    expect(rawFieldPlan('{ tenant { id } }', none)).toEqual(new Map([['tenant', raw('id')]]));
  });
});

/** A string with the characters that could trip a scanner: quotes, escapes, brackets. */
function trickyString(random: () => number): string {
  // (one to four UTF-8 bytes each: the scanner reads bytes)
  const parts = [...'a"\\{}[],:é\u2028😀\n ', '\\"', '"}'];
  let s = '';
  const n = Math.floor(random() * 8);
  for (let i = 0; i < n; i++) s += parts[Math.floor(random() * parts.length)]!;
  return s;
}

const ANSWER_QUERY = `{ entities(first: 3) { nodes { __typename id label ${SERIES} { __typename points { start note count } tiers } } pageInfo { endCursor hasNextPage } } }`;
const ANSWER_PLAN = rawFieldPlan(ANSWER_QUERY, none)!;

/** An answer to ANSWER_QUERY: strings with anything in them, nulls, empty lists, errors. */
function randomAnswer(random: () => number): Record<string, unknown> {
  const maybe = <T>(value: T): T | null => (random() < 0.1 ? null : value);
  const answer: Record<string, unknown> = {
    data: {
      entities: {
        nodes: Array.from({ length: Math.floor(random() * 4) }, () => ({
          __typename: 'Entity',
          id: trickyString(random),
          label: maybe(trickyString(random)),
          series: maybe({
            __typename: 'Series',
            points: Array.from({ length: Math.floor(random() * 4) }, () => ({
              start: trickyString(random),
              note: maybe(trickyString(random)),
              count: Math.floor(random() * 1e6) * (random() < 0.5 ? -1 : 1),
            })),
            tiers: random() < 0.5 ? [] : ['COLD', 'HOT'],
          }),
        })),
        pageInfo: maybe({ endCursor: maybe(trickyString(random)), hasNextPage: random() < 0.5 }),
      },
    },
  };
  if (random() < 0.3) {
    const errors = [{ message: trickyString(random), path: ['entities', 'nodes', 0] }];
    // errors before data, as some servers write them
    return random() < 0.5 ? { errors, ...answer } : { ...answer, errors };
  }
  return answer;
}

/** The serialisation as text (bytes when it holds raw subtrees). */
function serialized(value: unknown): string {
  const out = serializeWithRawSubtrees(value);
  return typeof out === 'string' ? out : Buffer.concat(out).toString('utf8');
}

function rawsIn(value: unknown, found: RawJSON[] = []): RawJSON[] {
  if (value instanceof RawJSON) found.push(value);
  else if (value !== null && typeof value === 'object')
    for (const v of Object.values(value)) rawsIn(v, found);
  return found;
}

describe('parseWithRawFields and serializeWithRawSubtrees', () => {
  it('read and write what JSON.parse and JSON.stringify do, on any answer and layout', () => {
    const random = mulberry32(23);
    let kept = 0;
    for (let i = 0; i < 300; i++) {
      const answer = randomAnswer(random);
      const indent = [undefined, 2, '\t'][i % 3];
      const text = JSON.stringify(answer, null, indent);
      const parsed = parseWithRawFields(Buffer.from(text), ANSWER_PLAN) as { data: unknown };
      const raws = rawsIn(parsed).filter((r) => r.signature !== 'endCursor,hasNextPage');
      kept += raws.length;
      for (const r of raws) expect(r.signature).toBe('start,note,count');
      // the points lists and the page info are raw, everything else is parsed
      const { nodes, pageInfo } = (
        answer.data as { entities: { nodes: { series: unknown }[]; pageInfo: unknown } }
      ).entities;
      expect(raws.length).toBe(nodes.filter((n) => n.series !== null).length);
      expect(
        (parsed.data as { entities: { pageInfo: unknown } }).entities.pageInfo instanceof RawJSON,
      ).toBe(pageInfo !== null);
      expect(JSON.parse(serialized(parsed))).toEqual(answer);
      // toJSON: anyone else serialising gets the parsed value
      expect(JSON.parse(JSON.stringify(parsed))).toEqual(answer);
      if (indent === undefined) expect(serialized(parsed)).toBe(text);
    }
    expect(kept).toBeGreaterThan(200);
  });

  it('leaves text it cannot follow to JSON.parse, which throws as it would have', () => {
    const random = mulberry32(29);
    for (let i = 0; i < 100; i++) {
      const text = JSON.stringify(randomAnswer(random));
      const broken = [
        text.slice(0, Math.floor(random() * text.length)),
        `${text}]`,
        text.replace('"entities":', '"entities"'),
        text.replace('"data":{', '"data":{,'),
      ];
      for (const b of broken) {
        let expected: unknown;
        try {
          expected = JSON.parse(b);
        } catch (err) {
          expected = (err as Error).name;
        }
        let actual: unknown;
        try {
          actual = JSON.parse(JSON.stringify(parseWithRawFields(Buffer.from(b), ANSWER_PLAN)));
        } catch (err) {
          actual = (err as Error).name;
        }
        expect(actual).toEqual(expected);
      }
    }
    // an answer that is not an object at all
    expect(() => parseWithRawFields(Buffer.from('<html>'), ANSWER_PLAN)).toThrow(SyntaxError);
    expect(parseWithRawFields(Buffer.from('{"data":null}'), ANSWER_PLAN)).toEqual({ data: null });
  });
});

describe('deepMerge (gateway/planMerge.ts)', () => {
  it('is what executeQueryPlan calls now', () => {
    const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
    const module = gatewayRequire('@apollo/gateway/dist/utilities/deepMerge.js') as {
      deepMerge: unknown;
    };
    expect(module.deepMerge).toBe(deepMerge);
  });

  it('merges as the package does, parsing text wherever it meets another value', () => {
    const random = mulberry32(31);
    const leaf = () => (random() < 0.2 ? null : random() < 0.5 ? Math.floor(random() * 9) : 'x');
    const tree = (depth: number): unknown => {
      const r = random();
      if (depth === 0 || r < 0.25) return leaf();
      if (r < 0.45)
        return Array.from({ length: 1 + Math.floor(random() * 2) }, () => tree(depth - 1));
      const out: Record<string, unknown> = {};
      for (const key of ['a', 'b', 'c', 'toString']) if (random() < 0.6) out[key] = tree(depth - 1);
      return out;
    };
    /** The same tree, some subtrees (lists, objects) kept as text. */
    const withRaws = (value: unknown): unknown => {
      if (value === null || typeof value !== 'object') return value;
      if (random() < 0.3) return new RawJSON(Buffer.from(JSON.stringify(value)), 'x');
      if (Array.isArray(value)) return value.map(withRaws);
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withRaws(v)]));
    };
    let keptWhole = 0;
    for (let i = 0; i < 500; i++) {
      const target = { root: tree(4) };
      const source = { root: tree(4) };
      const sourceWithRaws = { root: withRaws(source.root) };
      const targetWithRaws = { root: withRaws(target.root) };
      let expected;
      try {
        expected = originalDeepMerge(structuredClone(target), structuredClone(source));
      } catch (err) {
        // an object merged into a number: answers that disagree on a field's type
        expect(() => deepMerge(targetWithRaws, sourceWithRaws)).toThrow((err as Error).constructor);
        continue;
      }
      const merged = deepMerge(targetWithRaws, sourceWithRaws);
      expect(JSON.stringify(merged)).toBe(JSON.stringify(expected));
      if (merged.root instanceof RawJSON && merged.root === sourceWithRaws.root) keptWhole++;
    }
    // into nothing, text stays text
    const r = new RawJSON(Buffer.from('[1]'), 'x');
    expect(deepMerge({ a: null }, { a: r }).a).toBe(r);
    expect(keptWhole).toBeGreaterThan(0);
  });
});

const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const fed = gatewayRequire('@apollo/federation-internals') as {
  Supergraph: { build(sdl: string): { apiSchema(): unknown } };
  operationFromDocument(schema: unknown, document: unknown): ComputeResponseArgs['operation'];
};
let apiSchema: unknown;
beforeAll(async () => {
  const sdl = await readFile(new URL('../../schema/supergraph.graphql', import.meta.url), 'utf8');
  apiSchema = fed.Supergraph.build(sdl).apiSchema();
});

function shape(
  compute: ComputeResponse,
  query: string,
  input: unknown,
  variables?: Record<string, unknown>,
) {
  const { data, errors } = compute({
    operation: fed.operationFromDocument(apiSchema, parse(query)),
    variables,
    input: input as ComputeResponseArgs['input'],
    introspectionHandling: () => null,
  });
  return {
    data,
    errors: (errors as { message: string; path: unknown }[]).map((e) => [e.message, e.path]),
  };
}

/**
 * The client's query over the subgraph's answer (`answer`, to `subgraphQuery`), shaped
 * with raw subtrees and spliced, against the package's shaping of the parsed answer.
 * Returns how many raw subtrees went out as they came.
 */
function expectSameAnswer(
  clientQuery: string,
  subgraphQuery: string,
  answer: unknown,
  variables?: Record<string, unknown>,
): number {
  const text = JSON.stringify({ data: answer });
  const plan = rawFieldPlan(subgraphQuery, none)!;
  const input = (parseWithRawFields(Buffer.from(text), plan) as { data: unknown }).data;
  const ours = shape(computeResponse, clientQuery, input, variables);
  const theirs = shape(originalComputeResponse, clientQuery, JSON.parse(text).data, variables);
  expect(ours.errors).toEqual(theirs.errors);
  expect(serialized(ours.data)).toBe(JSON.stringify(theirs.data));
  return rawsIn(ours.data).length;
}

function seriesAnswer(random: () => number, extra: Record<string, unknown> = {}) {
  return {
    entities: {
      nodes: Array.from({ length: 3 }, (_, e) => ({
        __typename: 'Entity',
        id: `e-${e}`,
        series: {
          __typename: 'Series',
          bucket: 'DAY',
          timeZone: 'Asia/Kolkata',
          tiers: ['COLD', 'HOT'],
          points: Array.from({ length: 5 }, (_, i) => ({
            start: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
            count: 1 + Math.floor(random() * 100),
            avg: random() < 0.2 ? null : random(),
            max: random(),
          })),
          ...extra,
        },
      })),
    },
  };
}

describe('result shaping over raw subtrees', () => {
  const subgraph = (points: string, more = '') =>
    `{ entities(first: 3) { nodes { __typename id ${SERIES} { __typename points { ${points} } ${more} } } } }`;

  it('sends the subgraph text where the client asked exactly what was fetched', () => {
    const random = mulberry32(37);
    const client = `{ entities(first: 3) { nodes { id ${SERIES} { points { start count avg max } } } } }`;
    expect(expectSameAnswer(client, subgraph('start count avg max'), seriesAnswer(random))).toBe(3);
    // aliased itself, the same selection inside: still the text
    const aliased = `{ entities(first: 3) { nodes { id s: ${SERIES} { points { start count avg max } } } } }`;
    const answer = seriesAnswer(random) as { entities: { nodes: Record<string, unknown>[] } };
    for (const node of answer.entities.nodes) {
      node.s = node.series;
      delete node.series;
    }
    expect(
      expectSameAnswer(
        aliased,
        `{ entities(first: 3) { nodes { __typename id s: ${SERIES} { __typename points { start count avg max } } } } }`,
        answer,
      ),
    ).toBe(3);
  });

  it('shapes the parsed text as before wherever the selections differ', () => {
    const random = mulberry32(41);
    const fetched = subgraph('start count avg max', 'bucket timeZone');
    const cases = [
      // fewer fields than fetched (two client selections merged into one fetch)
      `{ entities(first: 3) { nodes { id ${SERIES} { points { start count } } } } }`,
      // aliases, __typename, a fragment, a directive inside
      `{ entities(first: 3) { nodes { id ${SERIES} { points { s: start count avg max } } } } }`,
      `{ entities(first: 3) { nodes { id ${SERIES} { points { __typename start count avg max } } } } }`,
      `{ entities(first: 3) { nodes { id ${SERIES} { points { ... on SeriesPoint { start count avg max } } } } } }`,
      `query($x: Boolean!) { entities(first: 3) { nodes { id ${SERIES} { points { start count @skip(if: $x) avg max } } } } }`,
    ];
    for (const client of cases) {
      for (const x of [false, true])
        expect([client, expectSameAnswer(client, fetched, seriesAnswer(random), { x })]).toEqual([
          client,
          0,
        ]);
    }
    // the same field twice, with what was fetched between them: the operation merges
    // them into one selection, which is what was fetched
    const twice = `{ entities(first: 3) { nodes { id ${SERIES} { points { start count } points { avg max } } } } }`;
    expect(expectSameAnswer(twice, fetched, seriesAnswer(random))).toBe(3);
    // an enum leaf: checked against the supergraph, so never passed through unread
    const withEnum = `{ entities(first: 3) { nodes { id ${SERIES} { bucket timeZone } } } }`;
    const enumFetched = `{ entities(first: 3) { nodes { __typename id ${SERIES} { bucket timeZone } } } }`;
    expect(rawFieldPlan(enumFetched, none)).not.toBeNull();
    expect(
      expectSameAnswer(withEnum, enumFetched, seriesAnswer(random, { bucket: 'FORTNIGHT' })),
    ).toBe(0);
  });

  it('leaves nulls where the subgraph put them, with the same errors', () => {
    const random = mulberry32(43);
    const client = `{ entities(first: 3) { nodes { id ${SERIES} { points { start count avg max } } } } }`;
    const answer = seriesAnswer(random) as {
      entities: { nodes: { series: Record<string, unknown> | null }[] };
    };
    answer.entities.nodes[0]!.series!.points = null; // non-null list: the series bubbles up
    answer.entities.nodes[1]!.series = null;
    expect(expectSameAnswer(client, subgraph('start count avg max'), answer)).toBe(1);
  });
});
