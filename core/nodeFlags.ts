// The V8 flags tidemark's services run with, in one place. Node takes them only on its
// command line (NODE_OPTIONS refuses --incremental-marking-soft-trigger, and flags set
// after start are undefined behaviour by Node's docs), so package.json "start" and the
// Dockerfile's ENTRYPOINT spell them out too; test/unit/nodeFlags.test.ts fails when
// either says anything else. bench/support.ts starts the services with these.
//
// - A young generation of 64 MB instead of 16: a 9,000-point answer allocates tens of
//   megabytes, and with fewer scavenges the OLAP subgraph answered ~8 % sooner
//   (bench:query's A/B of two OLAP processes, 2026-12-02).
// - Full collections start when 80 % of the room V8 left after the last one is used
//   (95 %: at once), not when what is left drops below the young generation's size: V8
//   counts the answers' Buffers as used, so with 64 MB reserved the gateway ran a full
//   mark-compact every ~5 dashboards (README, gateway/).
export const SERVICE_NODE_FLAGS = [
  '--max-semi-space-size=64',
  '--incremental-marking-soft-trigger=80',
  '--incremental-marking-hard-trigger=95',
] as const;
