// Imported by gateway/server.ts after resultShaping.ts: Apollo Gateway's `deepMerge`
// (dist/utilities/deepMerge.js), which merges each fetch's answer into the answer being
// built, taught about RawJSON (rawSubtrees.ts). Where a kept subtree would be merged
// with another value at the same place, both sides are parsed first and merged as the
// package would merge them; elsewhere (the usual case: one fetch answers a field) the
// RawJSON is assigned as is.
//
// executeQueryPlan.js calls `deepMerge_1.deepMerge(...)`, reading the export at every
// call, so replacing the cached module's export reaches it (as with resultShaping.ts).
// test/unit/rawSubtrees.test.ts compares it with the package's own function.
import { createRequire } from 'node:module';
import path from 'node:path';
import { RawJSON } from './rawSubtrees.ts';

type Tree = Record<string, unknown>;

const isObject = (value: unknown): value is Tree =>
  value !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value);

const parsed = (value: unknown): unknown => (value instanceof RawJSON ? value.parse() : value);

/** Makes `key` an own property of `obj` when `obj` inherits one of that name (as the package does). */
function defineOwn(obj: Tree, key: string): void {
  if (!Object.prototype.hasOwnProperty.call(obj, key) && key in obj) {
    Object.defineProperty(obj, key, {
      configurable: true,
      enumerable: true,
      value: undefined,
      writable: true,
    });
  }
}

export function deepMerge(target: Tree, source: Tree | null | undefined): Tree {
  if (source === undefined || source === null) return target;
  for (const key of Object.keys(source)) {
    let value = source[key];
    if (value === undefined) continue;
    defineOwn(target, key);
    let existing = target[key];
    if (existing !== undefined && existing !== null && value !== null) {
      // something to merge with: parsed values, merged as usual
      if (existing instanceof RawJSON) target[key] = existing = parsed(existing);
      value = parsed(value);
    }
    if (existing && isObject(value)) {
      deepMerge(existing as Tree, value);
    } else if (
      Array.isArray(value) &&
      Array.isArray(existing) &&
      value.length === existing.length
    ) {
      for (let i = 0; i < value.length; i++) {
        let into: unknown = existing[i];
        let from: unknown = value[i];
        if (into !== undefined && into !== null && from !== null && from !== undefined) {
          into = existing[i] = parsed(into);
          from = parsed(from);
        }
        if (isObject(into) && isObject(from)) deepMerge(into, from);
        else existing[i] = from;
      }
    } else {
      target[key] = value;
    }
  }
  return target;
}

const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
const mergeModule = gatewayRequire(
  path.join(path.dirname(gatewayRequire.resolve('@apollo/gateway')), 'utilities', 'deepMerge.js'),
) as { deepMerge: typeof deepMerge };
/** The package's own function (kept for the equivalence test). */
export const originalDeepMerge: typeof deepMerge = mergeModule.deepMerge;
mergeModule.deepMerge = deepMerge;
