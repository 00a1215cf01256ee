// PostgreSQL connections. Two pools: `operator` (the migrating owner; tiering, CLI,
// partition management) and `app` (a role that owns nothing and has no BYPASSRLS;
// everything the subgraphs do). Tenant-scoped work runs through withTenant().
import pg from 'pg';
import type { Config } from '../core/config.ts';

// Counts and sums come back as JS numbers: int8 counts stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export const APP_ROLE = 'tidemark_app';

export interface Databases {
  operator: pg.Pool;
  app: pg.Pool;
  operatorUrl: string;
  appUrl: string;
  close(): Promise<void>;
}

/** The app role's URL: the operator URL with the app role's credentials. */
export function deriveAppUrl(operatorUrl: string, password: string): string {
  const url = new URL(operatorUrl);
  url.username = APP_ROLE;
  url.password = password;
  return url.toString();
}

export function openDatabases(
  config: Pick<Config, 'APP_DATABASE_URL' | 'APP_DB_PASSWORD'>,
  operatorUrl: string,
  poolSize = 10,
): Databases {
  const appUrl = config.APP_DATABASE_URL ?? deriveAppUrl(operatorUrl, config.APP_DB_PASSWORD);
  const operator = new pg.Pool({ connectionString: operatorUrl, max: Math.max(2, poolSize / 2) });
  const app = new pg.Pool({ connectionString: appUrl, max: poolSize });
  for (const pool of [operator, app]) pool.on('error', () => undefined); // idle client errors surface on next use
  return {
    operator,
    app,
    operatorUrl,
    appUrl,
    async close() {
      await Promise.all([operator.end(), app.end()]);
    },
  };
}

/** SQL statements run through withTenant (tests prove batching with it). */
export const statementStats = { count: 0 };

function counting(client: pg.PoolClient): pg.PoolClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'query') {
        return (...args: Parameters<pg.PoolClient['query']>) => {
          statementStats.count += 1;
          return (target.query as (...a: unknown[]) => unknown)(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

export interface TenantTxOptions {
  readOnly?: boolean;
  /** REPEATABLE READ gives every statement of fn the same snapshot. */
  repeatableRead?: boolean;
  /**
   * Tables locked in ACCESS SHARE mode before the snapshot is taken, so that a
   * concurrent partition drop either committed before it or waits for us.
   */
  lockTables?: string[];
}

/**
 * Puts a client in or out of node-postgres's pipeline mode (`pipeline`, pg ≥ 8.23;
 * typed read-only because it is meant to be set at construction): statements are sent
 * without waiting for the previous one's answer, and PostgreSQL runs them in order.
 * Switched only while no statement is in flight. The pools stay out of it: a COPY
 * stream (pg-copy-streams), as ingestion uses, is refused in pipeline mode.
 */
function pipelined(client: pg.PoolClient, on: boolean): void {
  (client as { pipeline: boolean }).pipeline = on;
}

/**
 * Runs fn in a transaction whose row-level security scope is one tenant
 * (SET LOCAL app.tenant_id). The scope ends with the transaction.
 *
 * A read-only transaction costs fn's own round trips only: its opening statements
 * are pipelined ahead of fn's first statement instead of awaited, and COMMIT is not
 * waited for. Should the opening fail, fn's statements fail with it or, had the
 * BEGIN itself not run, run with no tenant set, which row-level security answers
 * with no rows; either way that failure is what is thrown.
 */
export async function withTenant<T>(
  pool: pg.Pool,
  tenantId: string,
  fn: (client: pg.PoolClient) => Promise<T>,
  options: TenantTxOptions = {},
): Promise<T> {
  const client = await pool.connect();
  let committing = false;
  try {
    const mode = [
      options.repeatableRead ? 'ISOLATION LEVEL REPEATABLE READ' : '',
      options.readOnly ? 'READ ONLY' : '',
    ]
      .filter(Boolean)
      .join(' ');
    // One round trip for both (a simple query may hold several statements). SET and
    // LOCK take no snapshot; the first query in fn does.
    const opening = [
      `BEGIN ${mode}; SET LOCAL app.tenant_id = ${client.escapeLiteral(tenantId)}`,
      ...(options.lockTables ?? []).map(
        (table) => `LOCK TABLE ${client.escapeIdentifier(table)} IN ACCESS SHARE MODE`,
      ),
    ];
    if (options.readOnly) {
      pipelined(client, true);
      const opened = Promise.all(opening.map((sql) => client.query(sql)));
      opened.catch(() => undefined); // awaited below, after fn
      const result = await fn(counting(client)).then(
        async (value) => {
          await opened;
          return value;
        },
        async (err: unknown) => {
          await opened; // its failure comes first: fn's follows from it
          throw err;
        },
      );
      // Nothing to commit: what was read is final, so it is answered without waiting
      // for COMMIT's round trip. The connection goes back to the pool, tenant scope
      // ended, only once COMMIT is through; discarded if it fails.
      committing = true;
      client.query('COMMIT').then(
        () => {
          pipelined(client, false);
          client.release();
        },
        (err: Error) => client.release(err),
      );
      return result;
    }
    for (const sql of opening) await client.query(sql);
    const result = await fn(counting(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // Pipelined or not, ROLLBACK is answered after every statement sent before it: the
    // connection is idle once it is through.
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    if (!committing) {
      pipelined(client, false);
      client.release();
    }
  }
}
