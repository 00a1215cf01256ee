import { createRequire } from 'node:module';
import {
  type GraphQLScalarType,
  buildSchema,
  execute,
  getVariableValues,
  parse,
  type GraphQLInputType,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { noArgumentsFirst, planFor, withFastPath } from '../../core/graphqlFastPaths.ts';

type Coerce = Parameters<typeof withFastPath>[0];
type ArgumentValues = Parameters<typeof noArgumentsFirst>[0];
const graphqlFile = (file: string): string => {
  const require = createRequire(import.meta.url);
  return require.resolve(`${require.resolve('graphql').replace(/index\.js$/, '')}${file}`);
};
/** One of graphql-js's modules as every importer sees it (with the swaps installed). */
const cachedModule = <T>(file: string): T => createRequire(import.meta.url)(graphqlFile(file)) as T;
/** A fresh copy of one of graphql-js's modules, loaded apart from the cached one. */
function ownCopy<T>(file: string): T {
  const require = createRequire(import.meta.url);
  const id = graphqlFile(file);
  const cached = require.cache[id]!;
  delete require.cache[id];
  try {
    return require(id) as T;
  } finally {
    require.cache[id] = cached;
  }
}
const schema = buildSchema(`
  scalar Even
  enum Color { RED GREEN }
  input Row { id: String! n: Float score: Int = 7 tag: Even! }
  input Colored { id: String! color: Color }
  input Choice @oneOf { a: String b: Int }
  input Outer { row: Row }
  type Query {
    rows(a: [Row!]!, b: [Row], c: Row, d: Row!, e: [Colored!], f: Choice, g: Outer): Int
  }
`);
// A custom scalar that refuses odd numbers, as ObservationValue refuses objects.
Object.assign(schema.getType('Even') as GraphQLScalarType, {
  parseValue: (v: unknown) => {
    if (typeof v !== 'number' || v % 2 !== 0) throw new TypeError('not even');
    return v / 2;
  },
});

const argType = (name: string): GraphQLInputType =>
  schema
    .getQueryType()!
    .getFields()
    .rows!.args.find((a) => a.name === name)!.type;

/** Coerces with `coerce`, collecting errors as getVariableValues would report them. */
const run = (coerce: Coerce, value: unknown, type: GraphQLInputType) => {
  const errors: unknown[] = [];
  const result = coerce(value, type, (path: unknown, invalid: unknown, error: Error) =>
    errors.push({ path, invalid, message: error.message }),
  );
  // Key order matters to clients that print variables; JSON keeps it.
  return { json: JSON.stringify(result), result, errors };
};

describe('fast input coercion', () => {
  // graphql-js's own coerceInputValue, loaded apart from the cached module that
  // core/graphqlFastPaths.ts swaps the fast path into.
  const ownCoerce = ownCopy<{ coerceInputValue: Coerce }>(
    'utilities/coerceInputValue.js',
  ).coerceInputValue;

  const row = (i: number) => ({ id: `r${i}`, n: i / 3, tag: i * 2 });
  const cases: [string, unknown][] = [
    ['a', [row(1), row(2), { ...row(3), score: 4 }, { ...row(4), n: null }]],
    ['a', []],
    ['a', [row(1), null]],
    ['a', [row(1), { id: 'x', tag: 2, extra: 1 }]],
    ['a', [row(1), { id: 'x', tag: 2, tga: 1 }]],
    ['a', [{ id: 'x' }]],
    ['a', [{ id: null, tag: 2 }]],
    ['a', [{ id: 5, tag: 2 }]],
    ['a', [{ id: 'x', tag: 3 }]],
    ['a', [{ id: 'x', tag: '2' }]],
    ['a', [{ id: 'x', tag: 2, score: 1.5 }]],
    ['a', [{ id: 'x', tag: 2, n: 'NaN' }]],
    ['a', [[row(1)]]],
    ['a', row(1)],
    ['a', 'row'],
    ['a', null],
    ['a', [Object.assign(Object.create({ id: 'inherited' }) as object, { tag: 2 })]],
    ['b', [row(1), null, undefined]],
    ['b', null],
    ['c', row(5)],
    ['c', null],
    ['c', { tag: 2 }],
    ['d', row(6)],
    ['d', null],
    ['d', [row(6)]],
    ['e', [{ id: 'x', color: 'RED' }]],
    ['e', [{ id: 'x', color: 'BLUE' }]],
    ['f', { a: 'x' }],
    ['f', { a: 'x', b: 1 }],
    ['g', { row: row(1) }],
  ];

  it("gives graphql-js's own answer and errors for valid and invalid values", () => {
    const fast = withFastPath(ownCoerce);
    let compared = 0;
    for (const [arg, value] of cases) {
      const type = argType(arg);
      const mine = run(fast, value, type);
      const theirs = run(ownCoerce, value, type);
      expect({ arg, value, ...mine }).toEqual({ arg, value, ...theirs });
      compared += 1;
    }
    expect(compared).toBe(cases.length);
  });

  it('takes the fast path for lists of all-scalar input objects only', () => {
    expect(planFor(argType('a'))).not.toBeNull();
    expect(planFor(argType('b'))).not.toBeNull();
    expect(planFor(argType('c'))).not.toBeNull();
    expect(planFor(argType('e'))).toBeNull(); // an enum field
    expect(planFor(argType('f'))).toBeNull(); // @oneOf
    expect(planFor(argType('g'))).toBeNull(); // a nested object
    // On the fast path graphql-js is not asked at all.
    const never = (() => {
      throw new Error('asked');
    }) as Coerce;
    expect(run(withFastPath(never), [row(1), row(2)], argType('a')).result).toEqual(
      run(ownCoerce, [row(1), row(2)], argType('a')).result,
    );
    expect(() => withFastPath(never)([{ id: 'x' }], argType('a'))).toThrow('asked');
  });

  it("is what getVariableValues uses once installed, with graphql-js's messages for bad rows", () => {
    const coercion = cachedModule<{ coerceInputValue: { fastPath?: true } }>(
      'utilities/coerceInputValue.js',
    );
    expect(coercion.coerceInputValue.fastPath).toBe(true);
    const operation = parse('query($a: [Row!]!) { rows(a: $a) }')
      .definitions[0] as OperationDefinitionNode;
    const rows = Array.from({ length: 1000 }, (_, i) => row(i));
    const good = getVariableValues(schema, operation.variableDefinitions!, { a: rows });
    expect(good.errors).toBeUndefined();
    expect(good.coerced!.a).toEqual(rows.map((r) => ({ ...r, score: 7, tag: r.tag / 2 })));
    const bad = getVariableValues(schema, operation.variableDefinitions!, {
      a: [...rows.slice(0, 10), { id: 'x', tag: 3 }],
    });
    expect(bad.errors?.map((e) => e.message)).toEqual([
      'Variable "$a" got invalid value 3 at "a[10].tag"; Expected type "Even". not even',
    ]);
  });
});

describe('field arguments of fields that take none', () => {
  const own = ownCopy<{ getArgumentValues: ArgumentValues }>(
    'execution/values.js',
  ).getArgumentValues;
  const argsSchema = buildSchema(`
    type Point { a: Float scaled(by: Float = 2): Float exact(by: Float!): Float }
    type Query { point: Point }
  `);
  const fields = (
    argsSchema.getType('Point') as unknown as {
      getFields(): Record<string, { args: readonly unknown[] }>;
    }
  ).getFields();
  const nodeOf = (source: string) =>
    (
      parse(source).definitions[0] as OperationDefinitionNode & {
        selectionSet: { selections: { selectionSet: { selections: unknown[] } }[] };
      }
    ).selectionSet.selections[0]!.selectionSet.selections[0];

  it("answers as graphql-js's own does, a fresh object each time", () => {
    const fast = noArgumentsFirst(own);
    const cases: [string, string, Record<string, unknown>][] = [
      ['a', '{ point { a } }', {}],
      ['scaled', '{ point { scaled } }', {}],
      ['scaled', '{ point { scaled(by: 3) } }', {}],
      ['scaled', 'query($b: Float) { point { scaled(by: $b) } }', { b: 5 }],
      ['exact', 'query($b: Float!) { point { exact(by: $b) } }', { b: 7 }],
    ];
    for (const [field, source, variables] of cases) {
      const mine = fast(fields[field]!, nodeOf(source), variables);
      const theirs = own(fields[field]!, nodeOf(source), variables);
      expect([field, source, { ...mine }, Object.getPrototypeOf(mine)]).toEqual([
        field,
        source,
        { ...theirs },
        Object.getPrototypeOf(theirs),
      ]);
    }
    const node = nodeOf('{ point { a } }');
    expect(fast(fields.a!, node)).not.toBe(fast(fields.a!, node));
    // Asked only for fields that take arguments.
    const never = (() => {
      throw new Error('asked');
    }) as ArgumentValues;
    expect(Object.keys(noArgumentsFirst(never)(fields.a!, node))).toEqual([]);
    expect(() => noArgumentsFirst(never)(fields.scaled!, node)).toThrow('asked');
  });

  it('is what execute uses once installed, arguments and defaults still resolved', async () => {
    const values = cachedModule<{ getArgumentValues: { fastPath?: true } }>('execution/values.js');
    expect(values.getArgumentValues.fastPath).toBe(true);
    const result = await execute({
      schema: argsSchema,
      document: parse('{ point { a scaled two: scaled(by: 4) } }'),
      rootValue: {
        point: { a: 1.5, scaled: ({ by }: { by: number }) => 10 * by },
      },
    });
    expect(result).toEqual({ data: { point: { a: 1.5, scaled: 20, two: 40 } } });
  });
});
