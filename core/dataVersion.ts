// The OLAP subgraph's data-version route, which the gateway's response cache asks before
// each query: GET with a gateway-signed context, answered `{ "version": "…" | null }`
// for the context's tenant (null: no version can be vouched for, do not cache).
export const DATA_VERSION_PATH = '/internal/data-version';

export interface DataVersionAnswer {
  version: string | null;
}
