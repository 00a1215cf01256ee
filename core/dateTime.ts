import { GraphQLScalarType } from 'graphql';
import { GraphQLISODateTime } from 'type-graphql';

const MAX_REMEMBERED = 50_000;
const isoOf = new Map<number, string>();

/**
 * type-graphql's `DateTimeISO` (same name, parsing and validation) with a cheaper
 * serialize. A series answer repeats the same few bucket starts for every entity —
 * 9,000 points of a 100-entity, 90-day dashboard have 90 distinct instants — and
 * `Date#toISOString` was the OLAP subgraph's largest single cost per answer (~0.7 µs a
 * call, ~6 ms per such answer in `BENCH_CPU_PROF` profiles of `npm run bench:query`), so
 * the text of each instant is remembered (bounded: forgotten all at once when full).
 * Every subgraph uses this one instance: a schema may hold one type per name.
 */
export const DateTimeISO = new GraphQLScalarType({
  ...GraphQLISODateTime.toConfig(),
  serialize(value: unknown): string {
    if (value instanceof Date) {
      const ms = value.getTime();
      let iso = isoOf.get(ms);
      if (iso === undefined && !Number.isNaN(ms)) {
        iso = value.toISOString();
        if (isoOf.size >= MAX_REMEMBERED) isoOf.clear();
        isoOf.set(ms, iso);
      }
      if (iso !== undefined) return iso;
    }
    // Strings, numbers and invalid dates: type-graphql's rules and errors.
    return GraphQLISODateTime.serialize(value) as string;
  },
});
