// Two speed fixes for graphql-js 16, swapped into its CommonJS modules at start-up
// (gateway/server.ts and subgraphs/common/subgraphServer.ts import this first). Each
// gives the same answers as the function it wraps; test/unit/graphqlFastPaths.test.ts
// compares them with graphql-js's own.
//
// 1. Variable coercion, for the one shape that carries bulk data: a list of input
//    objects whose fields are scalars (the ingest mutation's
//    `observations: [ObservationInput!]!`, 5,000 rows a batch). graphql-js coerces each
//    input object into an `Object.create(null)` dictionary and then spreads it into a
//    plain object, with a path node per field and a closure per list item. In
//    `BENCH_CPU_PROF` profiles of `npm run bench:ingest` that was the largest self cost
//    of both the gateway (which coerces to validate, then forwards the original
//    variables) and the OLTP subgraph (which coerces to execute): ~25 ms per 5,000-row
//    batch in each, measured alone, vs ~2.5 ms here. Only values that coerce cleanly
//    take the fast path; anything else (a missing or unknown field, a null where none
//    is allowed, a value a scalar refuses, a non-array) goes to graphql-js's own
//    coercion from the start, so every error message, path and suggestion is its own.
//
// 2. Field arguments of fields that take none. graphql-js's `execute` asks
//    `getArgumentValues` for every field it resolves, and for a field without arguments
//    that still builds two `Object.create(null)` dictionaries and spreads one into the
//    plain object it returns. A 9,000-point series answer resolves ~63,000 such fields:
//    16 ms of the OLAP subgraph's time per answer in a micro-bench on this machine,
//    ~1 ms with the shortcut (a fresh empty plain object, as graphql-js returns).
import { createRequire } from 'node:module';
import {
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLInputType,
  type GraphQLScalarType,
} from 'graphql';

type Coerce = (
  inputValue: unknown,
  type: GraphQLInputType,
  onError?: unknown,
  hideSuggestions?: boolean,
) => unknown;

interface ScalarField {
  name: string;
  scalar: GraphQLScalarType;
  nonNull: boolean;
  defaultValue: unknown;
}

/** Coerces a whole value, or answers FALLBACK for graphql-js to do it (and report why). */
type Plan = (value: unknown) => unknown;

const FALLBACK = Symbol('fallback');

/** Fields of an input object if all are scalars (nullable or not), else null. */
function scalarFields(type: GraphQLInputType): ScalarField[] | null {
  if (!isInputObjectType(type) || type.isOneOf) return null;
  const fields: ScalarField[] = [];
  for (const field of Object.values(type.getFields())) {
    const nonNull = isNonNullType(field.type);
    const inner = nonNull ? (field.type as { ofType: GraphQLInputType }).ofType : field.type;
    if (!isScalarType(inner)) return null;
    fields.push({ name: field.name, scalar: inner, nonNull, defaultValue: field.defaultValue });
  }
  return fields;
}

function objectPlan(fields: ScalarField[]): Plan {
  const names = new Set(fields.map((f) => f.name));
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return FALLBACK;
    const source = value as Record<string, unknown>;
    for (const key in source) {
      if (Object.hasOwn(source, key) && !names.has(key)) return FALLBACK;
    }
    const out: Record<string, unknown> = {};
    for (const field of fields) {
      const raw = source[field.name];
      if (raw === undefined) {
        if (field.defaultValue !== undefined) out[field.name] = field.defaultValue;
        else if (field.nonNull) return FALLBACK;
        continue;
      }
      if (raw === null) {
        if (field.nonNull) return FALLBACK;
        out[field.name] = null;
        continue;
      }
      let parsed: unknown;
      try {
        parsed = field.scalar.parseValue(raw);
      } catch {
        return FALLBACK;
      }
      if (parsed === undefined) return FALLBACK;
      out[field.name] = parsed;
    }
    return out;
  };
}

/** A plan for `[T]`, `[T!]`, `[T!]!`, `T` or `T!` with T an all-scalar input object. */
export function planFor(type: GraphQLInputType): Plan | null {
  const outerNonNull = isNonNullType(type);
  let inner = outerNonNull ? (type as { ofType: GraphQLInputType }).ofType : type;
  const list = isListType(inner);
  if (list) inner = (inner as { ofType: GraphQLInputType }).ofType;
  const itemNonNull = list && isNonNullType(inner);
  if (itemNonNull) inner = (inner as { ofType: GraphQLInputType }).ofType;
  const fields = scalarFields(inner);
  if (!fields) return null;
  const object = objectPlan(fields);
  if (!list) return (value) => (value == null ? FALLBACK : object(value));
  return (value) => {
    if (!Array.isArray(value)) return FALLBACK;
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item == null) {
        if (itemNonNull) return FALLBACK;
        out[i] = null;
        continue;
      }
      const coerced = object(item);
      if (coerced === FALLBACK) return FALLBACK;
      out[i] = coerced;
    }
    return out;
  };
}

/** graphql-js's coerceInputValue with the fast path in front. */
export function withFastPath(original: Coerce): Coerce {
  const plans = new WeakMap<object, Plan | null>();
  return (inputValue, type, onError, hideSuggestions) => {
    let plan = plans.get(type);
    if (plan === undefined) {
      plan = planFor(type);
      plans.set(type, plan);
    }
    if (plan) {
      const coerced = plan(inputValue);
      if (coerced !== FALLBACK) return coerced;
    }
    return original(inputValue, type, onError, hideSuggestions);
  };
}

type ArgumentValues = (
  def: { args: readonly unknown[] },
  node: unknown,
  variableValues?: unknown,
) => Record<string, unknown>;

/** graphql-js's getArgumentValues, answering at once for a field that takes no arguments. */
export function noArgumentsFirst(original: ArgumentValues): ArgumentValues {
  return (def, node, variableValues) =>
    def.args.length === 0 ? {} : original(def, node, variableValues);
}

/**
 * Swaps both into graphql-js's modules. Their callers (`getVariableValues`, which Apollo
 * Gateway and `execute` use, and `execute` itself) read the exports at every call, so
 * the swap holds whenever it runs. Idempotent.
 */
export function installGraphqlFastPaths(): void {
  const require = createRequire(import.meta.url);
  const graphqlDir = require.resolve('graphql').replace(/index\.js$/, '');
  type Swapped<F> = F & { fastPath?: true };
  const coercion = require(`${graphqlDir}utilities/coerceInputValue.js`) as {
    coerceInputValue: Swapped<Coerce>;
  };
  if (!coercion.coerceInputValue.fastPath) {
    coercion.coerceInputValue = Object.assign(withFastPath(coercion.coerceInputValue), {
      fastPath: true as const,
    });
  }
  const values = require(`${graphqlDir}execution/values.js`) as {
    getArgumentValues: Swapped<ArgumentValues>;
  };
  if (!values.getArgumentValues.fastPath) {
    values.getArgumentValues = Object.assign(noArgumentsFirst(values.getArgumentValues), {
      fastPath: true as const,
    });
  }
}

installGraphqlFastPaths();
