import { createRequire } from 'node:module';
import {
  type GraphQLScalarType,
  buildSchema,
  getVariableValues,
  parse,
  type GraphQLInputType,
  type OperationDefinitionNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { planFor, withFastPath } from '../../core/inputCoercion.ts';

type Coerce = Parameters<typeof withFastPath>[0];
const coercionModule = (): { coerceInputValue: Coerce & { fastPath?: true } } => {
  const require = createRequire(import.meta.url);
  const dir = require.resolve('graphql').replace(/index\.js$/, '');
  return require(`${dir}utilities/coerceInputValue.js`) as {
    coerceInputValue: Coerce & { fastPath?: true };
  };
};
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
  // core/inputCoercion.ts swaps the fast path into.
  const ownCoerce = (() => {
    const require = createRequire(import.meta.url);
    const file = require.resolve(
      `${require.resolve('graphql').replace(/index\.js$/, '')}utilities/coerceInputValue.js`,
    );
    const cached = require.cache[file]!;
    delete require.cache[file];
    try {
      return (require(file) as { coerceInputValue: Coerce }).coerceInputValue;
    } finally {
      require.cache[file] = cached;
    }
  })();

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
    expect(coercionModule().coerceInputValue.fastPath).toBe(true);
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
