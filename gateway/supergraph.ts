import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUPERGRAPH_PATH = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'schema',
  'supergraph.graphql',
);

/** The committed supergraph; the gateway never introspects subgraphs at start-up. */
export function loadSupergraph(file = SUPERGRAPH_PATH): Promise<string> {
  return readFile(file, 'utf8');
}
