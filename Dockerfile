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
# V8 flags: why, in core/nodeFlags.ts (test/unit/nodeFlags.test.ts keeps this line equal to it).
ENTRYPOINT ["node", "--max-semi-space-size=64", "--incremental-marking-soft-trigger=80", "--incremental-marking-hard-trigger=95", "bin/tidemark.mjs"]
CMD ["start"]
