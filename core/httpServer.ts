// A small HTTP server shape every tidemark service shares: /health (liveness), /ready
// (dependencies reachable), a listen on a given port (0 in tests) and a clean close.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export function createServiceApp(readiness: () => Promise<void>): Express {
  const app = express();
  app.disable('x-powered-by');
  // No ETag hashed from each body (a SHA-1 over up to megabytes): answers are POSTed
  // and never revalidated, except GET queries at the gateway, whose response cache
  // tags them with its own key (gateway/responseCache.ts).
  app.set('etag', false);
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', async (_req, res) => {
    try {
      await readiness();
      res.json({ status: 'ready' });
    } catch (err) {
      res
        .status(503)
        .json({ status: 'not ready', reason: err instanceof Error ? err.message : String(err) });
    }
  });
  return app;
}

export async function listen(
  server: http.Server,
  host: string,
  port: number,
  onClose: () => Promise<void> = async () => undefined,
): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    async close() {
      await onClose();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
