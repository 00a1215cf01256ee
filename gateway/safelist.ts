// Persisted queries. Automatic persisted queries (APQ) are on by default: a client may
// send a query's SHA-256 alone once the gateway has seen it. In safelist mode
// (SAFELIST_FILE, an Apollo persisted-query manifest) only the listed operations run:
// the APQ cache answers from the manifest and accepts no new registrations.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';

interface Manifest {
  format: 'apollo-persisted-query-manifest';
  version: 1;
  operations: { id: string; name?: string; type?: string; body: string }[];
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The shape of Apollo Server's APQ cache (KeyValueCache<string>). */
interface QueryCache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<boolean | void>;
}

export interface Safelist {
  cache: QueryCache;
  plugin: ApolloServerPlugin;
  size: number;
}

export async function loadSafelist(file: string): Promise<Safelist> {
  const manifest = JSON.parse(await readFile(file, 'utf8')) as Manifest;
  if (
    manifest.format !== 'apollo-persisted-query-manifest' ||
    !Array.isArray(manifest.operations)
  ) {
    throw new Error(`${file} is not an Apollo persisted-query manifest`);
  }
  const bodies = new Map<string, string>();
  for (const op of manifest.operations) {
    const hash = sha256(op.body);
    if (op.id !== hash)
      throw new Error(
        `${file}: operation ${op.name ?? op.id} has id ${op.id}, but its body hashes to ${hash}`,
      );
    bodies.set(hash, op.body);
  }
  return {
    size: bodies.size,
    // Apollo Server keys APQ entries as `apq:<sha256>`.
    cache: {
      get: async (key) => bodies.get(key.replace(/^apq:/, '')),
      set: async () => undefined, // nothing registers at run time
      delete: async () => false,
    },
    plugin: {
      async requestDidStart() {
        return {
          // Checked before the operation is planned or executed.
          async didResolveOperation({ source }) {
            if (!bodies.has(sha256(source))) {
              throw new GraphQLError(
                'This operation is not in the safelist; register it in the persisted-query manifest.',
                {
                  extensions: { code: 'PERSISTED_QUERY_NOT_IN_LIST', http: { status: 400 } },
                },
              );
            }
          },
        };
      },
    },
  };
}
