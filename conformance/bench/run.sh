#!/usr/bin/env bash
# The performance run of the README: builds in release, starts scim-server on a fresh SQLite
# database, seeds it, runs every scim-bench scenario and prints the table. With PEER_VENV set
# to a virtualenv holding the `scim2-server` package (PyPI), runs the same scenarios against
# that peer in the same run and prints both tables.
#
#   conformance/bench/run.sh                      # our server only
#   PEER_VENV=/work/peers/scim2-server conformance/bench/run.sh
#
# Knobs (environment): USERS (100000), GROUP_MEMBERS (= USERS), SCENARIO_SECONDS per scenario (10;
# not SECONDS, which bash keeps counting by itself),
# CONCURRENCY (32), BULK_USERS for the bulk-total job (100000), SCENARIOS (space-separated,
# default all), PEER_USERS / PEER_GROUP_MEMBERS / PEER_BULK_USERS (default: the same),
# OUT (directory for the JSON reports and logs; default a temporary one, kept), SQLITE_VFS (the
# VFS our server opens its database with: unix-excl, for a server that is the file's only user,
# as measured in the README; empty for SQLite's default).
#
# Only 127.0.0.1 is used; ports are picked free by the servers or by the OS.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

USERS="${USERS:-100000}"
GROUP_MEMBERS="${GROUP_MEMBERS:-$USERS}"
SECONDS_EACH="${SCENARIO_SECONDS:-10}"
CONCURRENCY="${CONCURRENCY:-32}"
BULK_USERS="${BULK_USERS:-100000}"
SQLITE_VFS="${SQLITE_VFS-unix-excl}"
SCENARIOS="${SCENARIOS:-}"
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/scim-bench.XXXXXX")}"
TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$OUT"

server_pid=""
stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap stop_server EXIT

# Waits (at most 60 s) until `$1` contains a line matching `$2`; prints the match.
wait_for_line() {
  local file="$1" pattern="$2"
  for _ in $(seq 1 600); do
    if grep -m1 -oE "$pattern" "$file" 2>/dev/null; then
      return 0
    fi
    if [[ -n "$server_pid" ]] && ! kill -0 "$server_pid" 2>/dev/null; then
      echo "the server exited; its log:" >&2
      cat "$file" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "timed out waiting for $pattern in $file" >&2
  return 1
}

bench() {
  local name="$1" base="$2" users="$3" members="$4" bulk_users="$5"
  local args=(--base-url "$base" --users "$users" --group-members "$members" --seconds "$SECONDS_EACH"
              --concurrency "$CONCURRENCY" --bulk-users "$bulk_users" --pid "$server_pid" --json "$OUT/$name.json")
  for s in $SCENARIOS; do args+=(--scenario "$s"); done
  echo "== $name: $base (pid $server_pid)" >&2
  SCIM_BENCH_TOKEN="$TOKEN" target/release/scim-bench "${args[@]}" | tee "$OUT/$name.txt" || true
}

# How fast the machine is right now: a shared virtual machine's speed moves by half within an
# hour, so a run's figures only compare with another's next to this (seconds for a fixed loop,
# lower is faster), taken before and after.
gauge() {
  python3 - 2>/dev/null <<'PY' || echo "n/a"
import time
t = time.perf_counter()
s = 0
for i in range(10_000_000):
    s += i
print(f"{time.perf_counter() - t:.2f} s")
PY
}

# How fast the machine writes right now, which moves on its own: `create` on one binary went
# from 10,970-12,110/s to 9,500-10,500/s within an hour while `gauge` stayed at 0.57-0.64 s (7
# December). Python's sqlite3 inserting 100,000 rows with an index, 20 a transaction, in WAL
# mode, in a file beside the benchmark's database (seconds, lower is faster).
write_gauge() {
  python3 - "$OUT" 2>/dev/null <<'PY' || echo "n/a"
import os, random, sqlite3, sys, time
path = os.path.join(sys.argv[1], "write-gauge.db")
def clear():
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
clear()
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = NORMAL")
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v TEXT)")
db.execute("CREATE INDEX t_k ON t (k)")
rng, pad = random.Random(7), "x" * 400
t = time.perf_counter()
for _ in range(5000):
    db.execute("BEGIN")
    for _ in range(20):
        db.execute("INSERT INTO t (k, v) VALUES (?, ?)", (f"{rng.random():.12f}", pad))
    db.execute("COMMIT")
print(f"{time.perf_counter() - t:.2f} s")
db.close()
clear()
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB; load: $(cut -d' ' -f1-3 /proc/loadavg); speed gauge before: $(gauge), write gauge before: $(write_gauge)" | tee "$OUT/machine.txt"
echo "our server's SQLite VFS: ${SQLITE_VFS:-the default}" | tee -a "$OUT/machine.txt"

cargo build --release --locked -p scim-server -p scim-conformance

# Ours: a fresh SQLite database, a free port.
db_dir="$OUT/rollcall-db"
rm -rf "$db_dir" && mkdir -p "$db_dir"
SCIM_LOG=warn target/release/scim-server --database "sqlite://$db_dir/scim.db${SQLITE_VFS:+?vfs=$SQLITE_VFS}" \
  serve --listen 127.0.0.1:0 --bootstrap-token "$TOKEN" >"$OUT/rollcall.log" 2>&1 &
server_pid=$!
origin="$(wait_for_line "$OUT/rollcall.log" 'http://127\.0\.0\.1:[0-9]+$' | head -1)"
bench rollcall "$origin/scim/v2" "$USERS" "$GROUP_MEMBERS" "$BULK_USERS"
stop_server

# Ours again at the peer's data size, when it differs, for a like-for-like comparison.
if [[ -n "${PEER_VENV:-}" && "${PEER_USERS:-$USERS}" != "$USERS" ]]; then
  rm -rf "$db_dir" && mkdir -p "$db_dir"
  SCIM_LOG=warn target/release/scim-server --database "sqlite://$db_dir/scim.db${SQLITE_VFS:+?vfs=$SQLITE_VFS}" \
    serve --listen 127.0.0.1:0 --bootstrap-token "$TOKEN" >"$OUT/rollcall-small.log" 2>&1 &
  server_pid=$!
  origin="$(wait_for_line "$OUT/rollcall-small.log" 'http://127\.0\.0\.1:[0-9]+$' | head -1)"
  bench "rollcall-at-${PEER_USERS}" "$origin/scim/v2" "$PEER_USERS" "${PEER_GROUP_MEMBERS:-$GROUP_MEMBERS}" \
    "${PEER_BULK_USERS:-$BULK_USERS}"
  stop_server
fi

if [[ -n "${PEER_VENV:-}" ]]; then
  port="$("$PEER_VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$PEER_VENV/bin/scim2-server" --hostname 127.0.0.1 --port "$port" --bearer-token "$TOKEN" >"$OUT/peer.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 600); do
    if curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/ServiceProviderConfig"; then break; fi
    sleep 0.1
  done
  bench scim2-server "http://127.0.0.1:$port" "${PEER_USERS:-$USERS}" "${PEER_GROUP_MEMBERS:-$GROUP_MEMBERS}" \
    "${PEER_BULK_USERS:-$BULK_USERS}"
  stop_server
fi

echo "speed gauge after: $(gauge), write gauge after: $(write_gauge)" | tee -a "$OUT/machine.txt"
echo
echo "reports in $OUT"
cat "$OUT/machine.txt"
for f in "$OUT"/*.txt; do
  [[ "$(basename "$f")" == machine.txt ]] && continue
  echo "--- $(basename "$f" .txt)"
  cat "$f"
done
