#!/usr/bin/env bash
# npm run test:stack — brings the scale-mode stack up (Trino + Iceberg + S3Proxy, see
# scripts/stack.sh), runs the engine suites against Trino, and brings it down again.
# The hot test databases live in the same PostgreSQL as the Iceberg catalog.
set -uo pipefail
cd "$(dirname "$0")/.."

# The suites that run on every cold engine, plus the Trino-only one.
SUITES=(
  test/integration/tiering.test.ts
  test/integration/concurrentReader.test.ts
  test/e2e/federatedSeries.test.ts
  test/e2e/batching.test.ts
  test/e2e/coldCache.test.ts
  test/e2e/trinoEngine.test.ts
)

scripts/stack.sh up || { scripts/stack.sh down; exit 1; }
trap 'scripts/stack.sh down' EXIT
TRINO_URL=$(scripts/stack.sh env | sed -n 's/^TRINO_URL=//p')
STACK_PG_URL=$(scripts/stack.sh env | sed -n 's/^STACK_PG_URL=//p')
export TEST_TRINO_URL=$TRINO_URL
export TEST_DATABASE_URL=${STACK_PG_URL%/*}/postgres
echo "[test:stack] engine suites on Trino at $TEST_TRINO_URL, PostgreSQL ${TEST_DATABASE_URL}"
mkdir -p .tidemark
npx vitest run --reporter=default --reporter=json \
  --outputFile.json=.tidemark/test-stack-results.json "${SUITES[@]}"
