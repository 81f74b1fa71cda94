#!/usr/bin/env bash
# What a newcomer does: `npm start` with no database configured, bootstrap a
# tenant, stop with SIGTERM while a request is in flight (it must finish), start
# again and find the data still there.
set -euo pipefail
cd "$(dirname "$0")/.."

data_dir=$(mktemp -d)
port=${SMOKE_PORT:-3917}
log="$data_dir/api.log"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM -- "-$pid" 2>/dev/null || true; fi
  # A node left behind by a stop that failed (its npm gone) is in the last start's group.
  if [ -n "${group:-}" ]; then kill -TERM -- "-$group" 2>/dev/null || true; fi
  [ -n "${KEEP_SMOKE:-}" ] || rm -rf "$data_dir"
}
trap cleanup EXIT

# HTTP with Node's fetch: a fresh machine has Node, not necessarily curl.
# http METHOD URL [HEADERS_JSON] [BODY]: prints the body, fails on a non-2xx status.
http() {
  node -e '
    const [method, url, headers, body] = process.argv.slice(1);
    fetch(url, { method, headers: JSON.parse(headers || "{}"), body: body || undefined })
      .then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(1));
  ' "$@"
}

start() {
  # Own process group, so SIGTERM reaches npm and the node process alike.
  DATA_DIR="$data_dir" PORT=$port HOST=127.0.0.1 env -u DATABASE_URL -u MIGRATION_DATABASE_URL \
    setsid "$@" >>"$log" 2>&1 &
  pid=$!
  group=$pid
  for _ in $(seq 1 120); do
    if http GET "http://127.0.0.1:$port/ready" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "API exited during start:"; tail -50 "$log"; return 1; fi
    sleep 0.5
  done
  echo "API not ready within 60 s:"; tail -50 "$log"; return 1
}

stop() {
  # As an orchestrator does: SIGTERM to the service's process (npm passes it on), not the group.
  kill -TERM "$pid"
  for _ in $(seq 1 40); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" || true
      pid=""
      # npm can exit before the node process it runs has closed its port: wait for that too,
      # or the next start finds the port taken.
      for _ in $(seq 1 40); do
        if ! http GET "http://127.0.0.1:$port/health" >/dev/null 2>&1; then return 0; fi
        sleep 0.25
      done
      echo "the API's port still answers 10 s after its npm process exited"; tail -20 "$log"; return 1
    fi
    sleep 0.25
  done
  echo "API did not stop within 10 s of SIGTERM"; tail -20 "$log"; return 1
}

start npm start --silent
http GET "http://127.0.0.1:$port/health" | grep -q '"status":"ok"'
token=$(cat "$data_dir/bootstrap-token")
key=$(http POST "http://127.0.0.1:$port/bootstrap" "{\"Authorization\":\"Bearer $token\",\"Content-Type\":\"application/json\"}" \
  '{"tenant_name":"Smoke Hospital"}' |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).api_key))')
http GET "http://127.0.0.1:$port/admin/api-keys" "{\"X-API-Key\":\"$key\"}" | grep -q '"role":"admin"'

# The staging validation tool, built, against this live server.
CLINCORE_BOOTSTRAP_TOKEN="$token" node dist/apps/ops/src/main.js smoke --base-url "http://127.0.0.1:$port" >"$data_dir/smoke.txt" ||
  { echo "staging smoke checks failed:"; cat "$data_dir/smoke.txt"; exit 1; }
tail -1 "$data_dir/smoke.txt"

# SIGTERM while a request is in flight: it must still get its 201.
node scripts/slow-request.mjs "http://127.0.0.1:$port" "$key" 1500 >"$data_dir/inflight" &
inflight=$!
sleep 0.5
stop
wait "$inflight"
[ "$(cat "$data_dir/inflight")" = "201" ] || { echo "in-flight request during shutdown got: $(cat "$data_dir/inflight")"; tail -20 "$log"; exit 1; }
grep -q '"msg":"stopped"' "$log" || { echo "no graceful stop in the log"; tail -20 "$log"; exit 1; }

start npm run start:prod --silent
http GET "http://127.0.0.1:$port/admin/api-keys" "{\"X-API-Key\":\"$key\"}" | grep -q 'bootstrap admin'
if grep -q "$key" "$log"; then echo "the API key appeared in the log"; exit 1; fi
stop
echo "smoke: start, bootstrap, graceful stop, restart with data kept: ok"

# Not on a terminal: JSON lines only, from the first (embedded database, migrations) to the last.
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter((l) => l.startsWith("{") || l.includes("\x1b["));
  const bad = lines.filter((l) => { try { JSON.parse(l); return false; } catch { return true; } });
  if (lines.length < 3 || bad.length) { console.log("log lines that are not JSON:", bad.slice(0, 5)); process.exit(1); }
' "$log"
echo "smoke: piped, the log is JSON lines: ok"

# On a terminal, as a newcomer runs it (script(1) gives the API one): a banner with the URLs and
# where the bootstrap token is kept, never the token itself, and readable log lines, not JSON.
log="$data_dir/tty.log"
start script -qefc "node dist/apps/api/src/main.js" /dev/null
http GET "http://127.0.0.1:$port/health" >/dev/null
kill -TERM -- "-$pid"
wait "$pid" || true
pid=""
sed 's/\x1b\[[0-9;]*m//g' "$log" >"$data_dir/tty.txt"
grep -q "Swagger UI *http://127.0.0.1:$port/docs" "$data_dir/tty.txt" &&
  grep -q "Bootstrap token *kept in $data_dir/bootstrap-token" "$data_dir/tty.txt" &&
  grep -q 'INFO: request completed GET /health 200' "$data_dir/tty.txt" ||
  { echo "no start banner or readable log lines on a terminal:"; tail -20 "$data_dir/tty.txt"; exit 1; }
if grep -q "$token" "$log"; then echo "the bootstrap token was printed on the terminal"; exit 1; fi
if grep -q '"msg":' "$log"; then echo "JSON log lines on a terminal"; exit 1; fi
echo "smoke: on a terminal, a start banner without the token and readable log lines: ok"

# Production refuses weak secrets at start, naming each failed rule and no value.
if NODE_ENV=production BOOTSTRAP_TOKEN=changeme-changeme-changeme-changeme DATABASE_URL="postgres://app:pw@127.0.0.1:1/clincore" \
  node dist/apps/api/src/main.js >"$data_dir/prod.txt" 2>&1; then
  echo "the API started in production with weak secrets"; exit 1
fi
grep -q 'Refusing to start in production: .*bootstrap_token.*database_url' "$data_dir/prod.txt" ||
  { echo "production refusal did not name the rules:"; cat "$data_dir/prod.txt"; exit 1; }
if grep -q 'changeme' "$data_dir/prod.txt"; then echo "a secret value was printed"; exit 1; fi
echo "smoke: production start refuses weak secrets: ok"
