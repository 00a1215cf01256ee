// Imported first by gateway/server.ts, before @apollo/gateway loads: a speed fix for
// Apollo Gateway's result shaping, which walks every value of every answer.
//
// @apollo/federation-internals is TypeScript compiled to CommonJS with `export *`, so
// its index re-exports its ~300 names as getters (`get: () => m[k]`). Apollo Gateway
// reaches them through that object for every leaf it copies (`isNonNullType`,
// `isListType`, …), and on an object that large V8 cannot inline the getters: in
// `BENCH_CPU_PROF` profiles of `npm run bench:query` the getter was the gateway's
// largest self cost, and result shaping took 2,157 ms with it vs 1,264 ms with the
// copy below (the same run's answers, ~12 ms less per 9,000-point dashboard).
//
// The copy holds the same values: every module of the package is loaded when its
// index is, and none reassigns an export afterwards (checked in the package's dist:
// the only `exports.x = x =` forms initialise enums at load), so a getter would return
// what the copy holds. Modules that took the package before this ran keep the getters.
// One export is swapped for a faster equivalent: isValidLeafValue (see floatLeavesFirst).
import { createRequire } from 'node:module';

/**
 * Replaces the cached exports of `specifier`, as `fromModule` resolves it, with a
 * plain-value copy, so later `require`s (and imports) of it get that copy; `replace`
 * names exports to swap in the copy, given the originals.
 */
export function flattenCachedExports(
  fromModule: string,
  specifier: string,
  replace: (original: Record<string, unknown>) => Record<string, unknown> = () => ({}),
): void {
  const require = createRequire(fromModule);
  const id = require.resolve(specifier);
  const exports = require(id) as Record<string, unknown>;
  const cached = require.cache[id];
  if (!cached) return;
  const flat: Record<string, unknown> = { ...exports, ...replace(exports) };
  Object.defineProperty(flat, '__esModule', { value: true });
  cached.exports = flat;
}

type LeafCheck = (schema: { floatType(): unknown }, value: unknown, type: unknown) => boolean;

/**
 * The package's `isValidLeafValue` answers true for a finite number in a Float field,
 * but only after `String(value)`, which it needs for Int and ID alone: that string was
 * the gateway's largest self cost left in bench:query's profiles (every avg, min and
 * max of a 9,000-point answer). This answers that case first and asks the original for
 * every other one, so its answers are the original's (test/unit pins them).
 */
export const floatLeavesFirst =
  (original: LeafCheck): LeafCheck =>
  (schema, value, type) =>
    (typeof value === 'number' && Number.isFinite(value) && type === schema.floatType()) ||
    original(schema, value, type);

const gatewayEntry = createRequire(import.meta.url).resolve('@apollo/gateway');
flattenCachedExports(gatewayEntry, '@apollo/federation-internals', (original) => ({
  isValidLeafValue: floatLeavesFirst(original.isValidLeafValue as LeafCheck),
}));
