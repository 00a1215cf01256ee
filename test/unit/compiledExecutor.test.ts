// The subgraphs' compiled executor: which operations run compiled, and that a compiled
// run answers as graphql-js does (data, nulls that bubble, typed and masked errors,
// variables that do not coerce). The e2e suites run every query compiled as well
// (test/support/stack.ts sets COMPILE_QUERIES_AFTER=1).
import { ApolloServer } from '@apollo/server';
import {
  GraphQLFloat,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, maskError, TidemarkError } from '../../core/errors.ts';
import {
  compiledExecutor,
  type CompiledExecutor,
} from '../../subgraphs/common/compiledExecutor.ts';

interface Row {
  i: number;
  failAt?: number;
  typed: boolean;
}

const Point = new GraphQLObjectType<Row>({
  name: 'Point',
  fields: {
    start: { type: GraphQLString, resolve: (r) => new Date(r.i * 86_400_000).toISOString() },
    count: {
      type: new GraphQLNonNull(GraphQLInt),
      resolve: (r) => {
        if (r.i !== r.failAt) return r.i * 10;
        if (r.typed) throw new TidemarkError(ErrorCode.BAD_USER_INPUT, `no count at ${r.i}`);
        throw new Error('an internal failure with details a caller must not see');
      },
    },
    avg: { type: GraphQLFloat, resolve: (r) => (r.i % 3 === 0 ? null : r.i / 7) },
  },
});

let bumps = 0;
const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      series: {
        type: new GraphQLList(new GraphQLNonNull(Point)),
        args: {
          n: { type: new GraphQLNonNull(GraphQLInt) },
          failAt: { type: GraphQLInt },
          typed: { type: GraphQLInt },
        },
        resolve: async (_root, args: { n: number; failAt?: number; typed?: number }) =>
          Array.from({ length: args.n }, (_, i) => ({
            i,
            failAt: args.failAt,
            typed: args.typed === 1,
          })),
      },
      label: { type: GraphQLString, resolve: () => 'dashboard' },
    },
  }),
  mutation: new GraphQLObjectType({
    name: 'Mutation',
    fields: { bump: { type: GraphQLInt, resolve: () => ++bumps } },
  }),
});

function server(compileAfter: number): { apollo: ApolloServer; executor: CompiledExecutor } {
  const executor = compiledExecutor(schema, compileAfter);
  const apollo = new ApolloServer({ gateway: executor.gateway, formatError: maskError });
  return { apollo, executor };
}

async function run(apollo: ApolloServer, query: string, variables?: Record<string, unknown>) {
  const res = await apollo.executeOperation({ query, variables });
  if (res.body.kind !== 'single') throw new Error('expected a single result');
  return JSON.parse(JSON.stringify(res.body.singleResult)) as {
    data?: unknown;
    errors?: { message: string; path?: unknown; extensions?: { code?: string } }[];
  };
}

const SERIES = `query Q($n: Int!, $failAt: Int, $typed: Int) {
  label
  series(n: $n, failAt: $failAt, typed: $typed) { start count avg }
}`;

describe('compiledExecutor', () => {
  const compiled = server(1);
  const interpreted = server(0);
  beforeAll(async () => {
    await compiled.apollo.start();
    await interpreted.apollo.start();
  });
  afterAll(async () => {
    await compiled.apollo.stop();
    await interpreted.apollo.stop();
  });

  it.each([
    ['a plain answer', SERIES, { n: 7 }],
    ['a typed error whose null bubbles up to the list', SERIES, { n: 5, failAt: 3, typed: 1 }],
    ['an internal error, masked', SERIES, { n: 5, failAt: 0 }],
    ['a variable that does not coerce', SERIES, { n: 'seven' }],
    ['a missing variable', SERIES, {}],
    [
      'an aliased field read twice',
      `{ a: series(n: 2) { count } b: series(n: 3) { c: count } }`,
      {},
    ],
  ])('answers %s as graphql-js does', async (_name, query, variables) => {
    const before = compiled.executor.runs.compiled;
    const expected = await run(interpreted.apollo, query, variables);
    const actual = await run(compiled.apollo, query, variables);
    expect(actual).toEqual(expected);
    // A request error (no data) is graphql-js's answer, given in place of the compiled one.
    const ranCompiled = !expected.errors || expected.data !== undefined;
    expect(compiled.executor.runs.compiled).toBe(before + (ranCompiled ? 1 : 0));
  });

  it("keeps a compiled run's errors typed, located and masked", async () => {
    const typed = await run(compiled.apollo, SERIES, { n: 5, failAt: 3, typed: 1 });
    expect(typed.data).toEqual({ label: 'dashboard', series: null });
    expect(typed.errors).toEqual([
      expect.objectContaining({
        message: 'no count at 3',
        path: ['series', 3, 'count'],
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);
    const masked = await run(compiled.apollo, SERIES, { n: 5, failAt: 0 });
    expect(masked.errors?.[0]?.message).not.toMatch(/details/);
    expect(masked.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  });

  it('compiles an operation on its n-th run, and not before', async () => {
    const { apollo, executor } = server(3);
    await apollo.start();
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await run(apollo, SERIES, { n: 4 }));
      expect(executor.runs).toEqual({ interpreted: 2, compiled: 2 });
      expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    } finally {
      await apollo.stop();
    }
  });

  it('runs documents with directives and mutations through graphql-js', async () => {
    const before = { ...compiled.executor.runs };
    const conditional = `query C($all: Boolean!) {
      series(n: 2) { count ... on Point @include(if: $all) { avg start } }
    }`;
    for (const all of [true, false]) {
      expect(await run(compiled.apollo, conditional, { all })).toEqual(
        await run(interpreted.apollo, conditional, { all }),
      );
    }
    const bumped = await run(compiled.apollo, 'mutation { bump }');
    expect(bumped.data).toEqual({ bump: bumps });
    expect(compiled.executor.runs).toEqual({
      compiled: before.compiled,
      interpreted: before.interpreted + 3,
    });
  });
});
