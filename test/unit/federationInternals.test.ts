import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { flattenCachedExports, floatLeavesFirst } from '../../gateway/federationInternals.ts';

const accessors = (o: object): string[] =>
  Object.entries(Object.getOwnPropertyDescriptors(o))
    .filter(([, d]) => d.get !== undefined)
    .map(([k]) => k);

describe('flattenCachedExports', () => {
  it('gives later requires a copy of a TypeScript `export *` index with plain values', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tm-flatten-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    // What tsc emits for `export * from './impl'`, reduced to its getters.
    await writeFile(
      path.join(dir, 'impl.js'),
      'exports.kind = (t) => typeof t; exports.Shape = class Shape {};',
    );
    await writeFile(
      path.join(dir, 'index.js'),
      `const m = require('./impl');
       Object.defineProperty(exports, '__esModule', { value: true });
       for (const k of Object.keys(m)) Object.defineProperty(exports, k, { enumerable: true, get: () => m[k] });`,
    );
    const from = path.join(dir, 'user.js');
    const require = createRequire(from);
    const before = require('./index.js') as Record<string, unknown>;
    expect(accessors(before)).toEqual(['kind', 'Shape']);

    flattenCachedExports(from, './index.js');
    const after = require('./index.js') as Record<string, unknown>;
    expect(after).not.toBe(before);
    expect(accessors(after)).toEqual([]);
    const impl = require('./impl.js') as Record<string, unknown>;
    expect(after.kind).toBe(impl.kind);
    expect(after.Shape).toBe(impl.Shape);
    expect(after.__esModule).toBe(true);
  });

  it('has flattened @apollo/federation-internals for the gateway, every value as its getter gave it', async () => {
    await import('../../gateway/federationInternals.ts');
    const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
    const flat = gatewayRequire('@apollo/federation-internals') as Record<string, unknown>;
    expect(accessors(flat)).toEqual([]);
    // The package's modules, as its index loaded them: each export of the copy is one
    // of theirs, by identity.
    const dist = path.dirname(gatewayRequire.resolve('@apollo/federation-internals'));
    const values = new Map<string, unknown[]>();
    for (const [id, mod] of Object.entries(gatewayRequire.cache)) {
      if (!id.startsWith(dist + path.sep) || id === path.join(dist, 'index.js') || !mod) continue;
      for (const [k, v] of Object.entries(mod.exports as object)) {
        values.set(k, [...(values.get(k) ?? []), v]);
      }
    }
    const keys = Object.keys(flat);
    expect(keys.length).toBeGreaterThan(200);
    // All but the one swapped on purpose (next test).
    expect(keys.filter((k) => !(values.get(k) ?? []).includes(flat[k]))).toEqual([
      'isValidLeafValue',
    ]);
  });

  it("answers isValidLeafValue as the package's own does, for every leaf type and value kind", () => {
    const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
    const flat = gatewayRequire('@apollo/federation-internals') as Record<string, unknown>;
    const dist = path.dirname(gatewayRequire.resolve('@apollo/federation-internals'));
    type Check = (schema: unknown, value: unknown, type: unknown) => boolean;
    const original = (gatewayRequire(path.join(dist, 'values.js')) as { isValidLeafValue: Check })
      .isValidLeafValue;
    const swapped = flat.isValidLeafValue as Check;
    expect(swapped).not.toBe(original);
    const schema = (flat.buildSchema as (sdl: string) => Record<string, (n?: string) => unknown>)(
      'scalar JSON enum Color { RED } type Query { a: Int }',
    );
    const types = [
      schema.intType!(),
      schema.floatType!(),
      schema.stringType!(),
      schema.booleanType!(),
      schema.idType!(),
      schema.type!('JSON'),
      schema.type!('Color'),
    ];
    const values = [
      0,
      -0,
      1,
      1.5,
      -2.25e-9,
      1e21,
      NaN,
      Infinity,
      -Infinity,
      '1',
      'RED',
      true,
      null,
    ];
    let compared = 0;
    for (const type of types) {
      for (const value of values) {
        expect([type, value, swapped(schema, value, type)]).toEqual([
          type,
          value,
          original(schema, value, type),
        ]);
        compared += 1;
      }
    }
    expect(compared).toBe(types.length * values.length);
    // The shortcut itself: a finite number in a Float field, without asking the original.
    const never = () => {
      throw new Error('asked');
    };
    expect(floatLeavesFirst(never)(schema as never, 2.5, schema.floatType!())).toBe(true);
  });
});
