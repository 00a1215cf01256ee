#!/usr/bin/env bash
# The scale-mode stack without Docker: Trino (from Maven Central, on Temurin 25) with an
# Iceberg catalog in PostgreSQL and an S3Proxy bucket, all on loopback.
#
#   scripts/stack.sh up       fetch (into the Maven cache), configure, start, wait until ready
#   scripts/stack.sh down     stop both servers
#   scripts/stack.sh status   say what runs
#   scripts/stack.sh env      print the variables tidemark and the tests use to reach it
#
# Versions are pinned in stack/versions.env; Trino reads the same config and catalog
# files as docker-compose.yml (stack/trino). Settings, with their defaults:
#   STACK_HOME=~/.cache/tidemark/stack   runtime dirs, logs, pids (outside the repo)
#   STACK_PG_URL=postgres://postgres@127.0.0.1:5432/tidemark_stack   catalog + hot DB
#   TRINO_HTTP_PORT=18080  S3_PORT=19000  TRINO_JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
# shellcheck source=../stack/versions.env
source stack/versions.env

STACK_HOME=${STACK_HOME:-$HOME/.cache/tidemark/stack}
STACK_PG_URL=${STACK_PG_URL:-postgres://postgres@127.0.0.1:5432/tidemark_stack}
TRINO_HTTP_PORT=${TRINO_HTTP_PORT:-18080}
S3_PORT=${S3_PORT:-19000}
TRINO_JAVA_HOME=${TRINO_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
S3_BUCKET=${S3_BUCKET:-tidemark-lake}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-tidemark}
S3_SECRET_KEY=${S3_SECRET_KEY:-tidemark-stack-secret}
M2=${M2_REPO:-$HOME/.m2/repository}
TRINO_DIR=$STACK_HOME/trino-server-$TRINO_VERSION

# postgres://user[:password]@host:port/db -> parts, for the JDBC URLs Trino needs.
pg_part() { node -e 'const u=new URL(process.argv[1]);const k=process.argv[2];
  console.log(k==="db"?u.pathname.slice(1):k==="user"?decodeURIComponent(u.username):
  k==="password"?decodeURIComponent(u.password):k==="host"?u.hostname:u.port||"5432")' "$STACK_PG_URL" "$1"; }
PG_HOST=$(pg_part host); PG_PORT=$(pg_part port); PG_DB=$(pg_part db)
PG_USER=$(pg_part user); PG_PASSWORD=$(pg_part password)
PG_ADMIN_URL="postgres://$PG_USER${PG_PASSWORD:+:$PG_PASSWORD}@$PG_HOST:$PG_PORT/postgres"

log() { echo "[stack] $*"; }

print_env() {
  cat <<VARS
TRINO_URL=http://127.0.0.1:$TRINO_HTTP_PORT
STACK_PG_URL=$STACK_PG_URL
S3_ENDPOINT=http://127.0.0.1:$S3_PORT
S3_BUCKET=$S3_BUCKET
VARS
}

fetch() {
  local tarball=$M2/io/trino/trino-server/$TRINO_VERSION/trino-server-$TRINO_VERSION.tar.gz
  local s3jar=$M2/org/gaul/s3proxy/$S3PROXY_VERSION/s3proxy-$S3PROXY_VERSION-jar-with-dependencies.jar
  # trino-server-core plus per-plugin zips would be smaller, but Maven Central serves
  # no trino-postgresql zip for 476; the full server tarball carries every plugin.
  [[ -f $tarball ]] || mvn -q dependency:get -Dtransitive=false \
    -Dartifact="io.trino:trino-server:$TRINO_VERSION:tar.gz"
  [[ -f $s3jar ]] || mvn -q dependency:get -Dtransitive=false \
    -Dartifact="org.gaul:s3proxy:$S3PROXY_VERSION:jar:jar-with-dependencies"
  if [[ ! -x $TRINO_DIR/bin/launcher ]]; then
    log "unpacking Trino $TRINO_VERSION (keeping the iceberg, postgresql and geospatial plugins)"
    mkdir -p "$STACK_HOME"
    # Plugins share jars as hard links inside the tarball, so unpack it whole, then
    # drop the plugins tidemark does not load (Iceberg needs geospatial's Geometry type).
    tar -xzf "$tarball" -C "$STACK_HOME"
    find "$TRINO_DIR/plugin" -mindepth 1 -maxdepth 1 -type d \
      ! -name iceberg ! -name postgresql ! -name geospatial -exec rm -rf {} +
  fi
  S3PROXY_JAR=$s3jar
}

running() { [[ -f $STACK_HOME/$1.pid ]] && kill -0 "$(cat "$STACK_HOME/$1.pid")" 2>/dev/null; }

prepare_postgres() {
  # The Iceberg JDBC catalog keeps its tables in their own schema of the hot database.
  psql -v ON_ERROR_STOP=1 -q "$PG_ADMIN_URL" -tc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" \
    | grep -q 1 || psql -v ON_ERROR_STOP=1 -q "$PG_ADMIN_URL" -c "CREATE DATABASE \"$PG_DB\""
  psql -v ON_ERROR_STOP=1 -q "$STACK_PG_URL" -f stack/postgres/iceberg-catalog.sql
}

start_s3proxy() {
  running s3proxy && return
  mkdir -p "$STACK_HOME/s3/$S3_BUCKET"
  { cat stack/s3proxy.properties
    echo "s3proxy.endpoint=http://127.0.0.1:$S3_PORT"
    echo "s3proxy.identity=$S3_ACCESS_KEY"
    echo "s3proxy.credential=$S3_SECRET_KEY"
    echo "jclouds.filesystem.basedir=$STACK_HOME/s3"
  } >"$STACK_HOME/s3proxy.properties"
  log "starting S3Proxy $S3PROXY_VERSION on 127.0.0.1:$S3_PORT"
  nohup "$TRINO_JAVA_HOME/bin/java" -Xmx512m -jar "$S3PROXY_JAR" \
    --properties "$STACK_HOME/s3proxy.properties" >"$STACK_HOME/s3proxy.log" 2>&1 &
  echo $! >"$STACK_HOME/s3proxy.pid"
}

start_trino() {
  running trino && return
  local etc=$STACK_HOME/trino-etc
  rm -rf "$etc" && mkdir -p "$etc/catalog" "$STACK_HOME/trino-data"
  cp stack/trino/config.properties stack/trino/jvm.config stack/trino/node.properties "$etc/"
  cp stack/trino/catalog/*.properties "$etc/catalog/"
  log "starting Trino $TRINO_VERSION on 127.0.0.1:$TRINO_HTTP_PORT (Java: $TRINO_JAVA_HOME)"
  TRINO_HTTP_PORT=$TRINO_HTTP_PORT TRINO_DATA_DIR=$STACK_HOME/trino-data \
  ICEBERG_CATALOG_JDBC_URL="jdbc:postgresql://$PG_HOST:$PG_PORT/$PG_DB?currentSchema=iceberg_catalog" \
  ICEBERG_CATALOG_USER=$PG_USER ICEBERG_CATALOG_PASSWORD=$PG_PASSWORD \
  HOT_JDBC_URL="jdbc:postgresql://$PG_HOST:$PG_PORT/$PG_DB" HOT_JDBC_USER=$PG_USER HOT_JDBC_PASSWORD=$PG_PASSWORD \
  S3_ENDPOINT=http://127.0.0.1:$S3_PORT S3_BUCKET=$S3_BUCKET \
  S3_ACCESS_KEY=$S3_ACCESS_KEY S3_SECRET_KEY=$S3_SECRET_KEY \
  JAVA_HOME=$TRINO_JAVA_HOME PATH=$TRINO_JAVA_HOME/bin:$PATH \
    nohup "$TRINO_DIR/bin/launcher" run --etc-dir "$etc" --data-dir "$STACK_HOME/trino-data" \
    >"$STACK_HOME/trino.log" 2>&1 &
  echo $! >"$STACK_HOME/trino.pid"
}

trino_sql() {
  node scripts/trinoQuery.mjs "http://127.0.0.1:$TRINO_HTTP_PORT" "$1"
}

wait_ready() {
  local deadline=$((SECONDS + ${STACK_TIMEOUT:-240}))
  local out
  until out=$(trino_sql "SELECT count(*) FROM iceberg.information_schema.schemata" 2>&1); do
    case $out in *CATALOG_NOT_FOUND*|*GENERIC_INTERNAL_ERROR*|*SCHEMA_NOT_FOUND*)
      log "Trino answers but the catalog is broken: $out"; exit 1 ;;
    esac
    if ! running trino; then log "Trino exited; last log lines:"; tail -40 "$STACK_HOME/trino.log"; exit 1; fi
    if ((SECONDS > deadline)); then log "Trino not ready in time; last log lines:"; tail -40 "$STACK_HOME/trino.log"; exit 1; fi
    sleep 2
  done
  log "Trino answers: $(trino_sql "SELECT node_version FROM system.runtime.nodes")"
}

stop() {
  for name in trino s3proxy; do
    if running "$name"; then
      log "stopping $name"
      local pid; pid=$(cat "$STACK_HOME/$name.pid")
      kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$STACK_HOME/$name.pid"
  done
}

case ${1:-} in
  up)
    fetch
    prepare_postgres
    start_s3proxy
    start_trino
    wait_ready
    print_env
    ;;
  down) stop ;;
  status)
    for name in trino s3proxy; do
      if running "$name"; then echo "$name: running (pid $(cat "$STACK_HOME/$name.pid"))"; else echo "$name: stopped"; fi
    done
    ;;
  env) print_env ;;
  *)
    echo "usage: scripts/stack.sh up|down|status|env" >&2
    exit 2
    ;;
esac
