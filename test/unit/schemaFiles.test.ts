// The committed schema/ files are what `npm run schema` generates now, and
// composition reports no error and no hint that was not accepted on purpose.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSchema, SCHEMA_DIR } from '../../scripts/generateSchema.ts';

describe('committed schema files', async () => {
  const generated = await generateSchema();

  it('compose without unaccepted hints', () => {
    expect(generated.hints).toEqual([]);
  });

  it.each(Object.keys(generated.files))(
    'schema/%s is up to date (run `npm run schema`)',
    async (name) => {
      const committed = await readFile(path.join(SCHEMA_DIR, name), 'utf8');
      expect(committed).toBe(generated.files[name]);
    },
  );

  it('exposes the federated surface clients rely on', () => {
    const api = generated.files['api.graphql']!;
    for (const fragment of [
      'type Entity',
      'series(',
      'latest(attribute: String!)',
      'type Tenant',
      'type Attribute',
      'entities(',
    ]) {
      expect(api).toContain(fragment);
    }
    expect(api).not.toContain('@key');
  });
});
