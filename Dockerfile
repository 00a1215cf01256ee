# One image for every tidemark service; the command picks the service:
#   tidemark serve oltp | olap | gateway | tiering, or tidemark migrate.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY bin ./bin
COPY cli ./cli
COPY core ./core
COPY hot ./hot
COPY cold ./cold
COPY tiering ./tiering
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY embedded ./embedded
COPY schema ./schema
COPY tsconfig.json ./
ENV HOST=0.0.0.0
USER node
# A young generation of 64 MB instead of 16: a 9,000-point answer allocates tens of
# megabytes, and with fewer scavenges the OLAP subgraph answered ~8 % sooner (bench:query's
# A/B of two OLAP processes, 2026-12-02). Full collections start when 80 % of the room
# V8 left after the last one is used (95 %: at once), not when what is left drops below
# the young generation's size: V8 counts the answers' Buffers as used, so with 64 MB
# reserved the gateway ran a full mark-compact every ~5 dashboards (README, gateway/).
# See also package.json "start" and bench/support.ts.
ENTRYPOINT ["node", "--max-semi-space-size=64", "--incremental-marking-soft-trigger=80", "--incremental-marking-hard-trigger=95", "bin/tidemark.mjs"]
CMD ["start"]
