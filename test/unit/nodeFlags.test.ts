// The services' V8 flags are written in three places that Node reads (core/nodeFlags.ts
// says why); this keeps package.json "start" and the Dockerfile's ENTRYPOINT equal to
// the one list the bench starts services with.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS } from '../../core/nodeFlags.ts';

describe('the V8 flags of the services', () => {
  it('are the ones `npm start` runs with', async () => {
    const { scripts } = JSON.parse(await readFile('package.json', 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.start).toBe(`node ${SERVICE_NODE_FLAGS.join(' ')} bin/tidemark.mjs start`);
  });

  it("are the ones the Dockerfile's entrypoint runs with", async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8');
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)?.[1];
    expect(entrypoint).toBeDefined();
    expect(JSON.parse(entrypoint!)).toEqual(['node', ...SERVICE_NODE_FLAGS, 'bin/tidemark.mjs']);
  });
});
