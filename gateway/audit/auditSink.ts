// Audit records leave the request path at once: they queue in memory and are sent in
// batches to the OLTP subgraph, which writes them to PostgreSQL. A slow or absent
// audit store never delays a response; a failed batch is retried; close() flushes.
import type { AuditRecord } from '../../core/auditRecord.ts';
import { AUDIT_SIGNATURE_HEADER, signAuditBatch } from '../../core/auditRecord.ts';
import type { Logger } from '../../core/logger.ts';

export interface AuditSinkOptions {
  url: string;
  secret: string;
  log: Logger;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Records kept while the store is unreachable; past it the oldest are dropped, logged. */
  maxQueued?: number;
}

export class AuditSink {
  #queue: AuditRecord[] = [];
  #sending: Promise<void> | null = null;
  #timer: NodeJS.Timeout;
  #dropped = 0;

  constructor(private readonly options: AuditSinkOptions) {
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    this.#timer.unref();
  }

  get queued(): number {
    return this.#queue.length;
  }

  record(entry: AuditRecord): void {
    this.#queue.push(entry);
    const max = this.options.maxQueued ?? 100_000;
    if (this.#queue.length > max) {
      const over = this.#queue.length - max;
      this.#queue.splice(0, over);
      this.#dropped += over;
      this.options.log.error(
        { dropped: this.#dropped },
        'audit queue full: oldest records dropped',
      );
    }
    if (this.#queue.length >= (this.options.batchSize ?? 500)) void this.flush();
  }

  /** Sends one batch of what is queued (one batch in flight at a time); false if it failed. */
  async flush(): Promise<boolean> {
    while (this.#sending) await this.#sending;
    if (this.#queue.length === 0) return true;
    const batch = this.#queue.splice(0, this.options.batchSize ?? 500);
    let stored = true;
    this.#sending = this.send(batch)
      .catch((err: unknown) => {
        stored = false;
        this.#queue.unshift(...batch); // keep order; the next flush retries
        this.options.log.warn(
          { err, records: batch.length },
          'audit batch not stored yet; will retry',
        );
      })
      .finally(() => {
        this.#sending = null;
      });
    await this.#sending;
    return stored;
  }

  private async send(batch: AuditRecord[]): Promise<void> {
    const body = JSON.stringify(batch);
    const res = await fetch(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [AUDIT_SIGNATURE_HEADER]: signAuditBatch(body, this.options.secret),
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`audit store answered ${res.status}`);
  }

  /** Stops the timer and flushes, retrying for up to `deadlineMs`. */
  async close(deadlineMs = 10_000): Promise<void> {
    clearInterval(this.#timer);
    const until = Date.now() + deadlineMs;
    while (this.#queue.length > 0 && Date.now() < until) {
      if (!(await this.flush())) await new Promise((r) => setTimeout(r, 200));
    }
    if (this.#queue.length > 0)
      this.options.log.error(
        { records: this.#queue.length },
        'audit records not stored at shutdown',
      );
  }
}
