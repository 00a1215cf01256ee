// Hears committed writes per tenant (LISTEN on the channel that the triggers of
// migrations 1764400000000_change_feed.sql and 1764500000000_change_feed_days.sql
// notify) and turns them into versions that a cache can key its entries by: an entry
// made under a version holds every write that the version counts, and any later write
// changes the version. Two grains: a tenant's version moves with any of its writes (the
// gateway's whole answers); day versions move only with inserted rows of their UTC day,
// or with a write that may touch any day (partial aggregates of single days).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../core/logger.ts';

export const CHANGES_CHANNEL = 'tidemark_changes';
/** The listening session's application_name (pg_stat_activity shows it). */
export const CHANGE_FEED_APP = 'tidemark-change-feed';

const DAY_MS = 86_400_000;

/** A tenant's day versions frozen at one moment (ChangeFeed.dayVersions). */
export interface DayVersions {
  /** A key naming the versions of every UTC day that [fromMs, toMs) touches. */
  of(fromMs: number, toMs: number): string;
}

const bump = <K>(counts: Map<K, number>, key: K): void => {
  counts.set(key, (counts.get(key) ?? 0) + 1);
};

export class ChangeFeed {
  private client: pg.Client | null = null;
  /**
   * Versions of two feeds (two OLAP instances, or one restarted) never coincide: a
   * gateway that asks either one can never mistake an old version for a current one.
   */
  private readonly instance = randomUUID().slice(0, 8);
  /** Bumped by a '*' notice and whenever the feed connects or drops. */
  private epoch = 0;
  private readonly versions = new Map<string, number>();
  /** Per tenant: notices that may touch any of its days (registry, cold files, …). */
  private readonly tenantWide = new Map<string, number>();
  /** Per tenant: UTC day ('YYYY-MM-DD') → notices of rows inserted in that day. */
  private readonly days = new Map<string, Map<string, number>>();
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly log: Logger,
    private readonly retryMs = 1000,
  ) {}

  /** Connects and listens; a database that is down is retried in the background. */
  async start(): Promise<void> {
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  get listening(): boolean {
    return this.client !== null;
  }

  /**
   * The tenant's data version, or null while the feed is not listening (callers must
   * not cache then). The round trip to the listening session is a barrier: PostgreSQL
   * delivers every notice of a transaction that committed before it ahead of its reply,
   * so a client that wrote and then reads sees its own write (never a cached answer
   * from before it).
   */
  async version(tenantId: string): Promise<string | null> {
    if (!(await this.barrier())) return null;
    return `${this.instance}.${this.epoch}.${this.versions.get(tenantId) ?? 0}`;
  }

  /**
   * The tenant's day versions as they stand after a barrier (see `version`), or null
   * while the feed is not listening. Take it before reading the data to cache: every
   * write it counts has committed, so data read afterwards holds at least those writes
   * (data newer than its key is safe: the key moves on when the notice arrives).
   */
  async dayVersions(tenantId: string): Promise<DayVersions | null> {
    if (!(await this.barrier())) return null;
    const base = `${this.instance}.${this.epoch}.${this.tenantWide.get(tenantId) ?? 0}`;
    const days = new Map(this.days.get(tenantId));
    return {
      of: (fromMs, toMs) => {
        let key = base;
        for (let day = Math.floor(fromMs / DAY_MS) * DAY_MS; day < toMs; day += DAY_MS) {
          key += `.${days.get(new Date(day).toISOString().slice(0, 10)) ?? 0}`;
        }
        return key;
      },
    };
  }

  /** True once every notice committed before the call has been heard. */
  private async barrier(): Promise<boolean> {
    const client = this.client;
    if (!client) return false;
    try {
      await client.query('SELECT 1');
    } catch (err) {
      this.lost(client, err as Error); // its session is gone; do not wait for 'end'
      return false;
    }
    return this.client === client;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.url, application_name: CHANGE_FEED_APP });
    client.on('notification', (n) => this.heard(n.payload || '*'));
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.log.warn({ err }, 'change feed: cannot listen; caching answers is off until it can');
      this.retry();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    // Anything may have changed while nobody listened.
    this.epoch += 1;
    this.client = client;
  }

  /** A notice: '*', 'tenant' (any of its days) or 'tenant YYYY-MM-DD' (rows of that day). */
  private heard(payload: string): void {
    if (payload === '*') {
      this.epoch += 1;
      return;
    }
    const [tenant, day] = payload.split(' ') as [string, string | undefined];
    bump(this.versions, tenant);
    if (day === undefined) {
      bump(this.tenantWide, tenant);
      return;
    }
    let days = this.days.get(tenant);
    if (!days) this.days.set(tenant, (days = new Map()));
    bump(days, day);
  }

  private lost(client: pg.Client, err?: Error): void {
    if (this.client !== client) return;
    this.client = null;
    this.epoch += 1;
    client.end().catch(() => undefined);
    if (this.stopped) return;
    this.log.warn({ err }, 'change feed: connection lost; caching answers is off until it is back');
    this.retry();
  }

  private retry(): void {
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => void this.connect(), this.retryMs);
    this.retryTimer.unref();
  }
}
