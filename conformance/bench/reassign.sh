#!/usr/bin/env bash
# The reassignment benchmark of the README: builds in release, starts scim-server on a fresh
# SQLite database (or DATABASE=postgres://… on an empty PostgreSQL database), and runs
# reassign-bench: one leaver owning RECORDS records (100000), preview, process and undo.
#
#   conformance/bench/reassign.sh
#   DATABASE=postgres://postgres@127.0.0.1:5432/rollcall_bench conformance/bench/reassign.sh
#
# Only 127.0.0.1 is used.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RECORDS="${RECORDS:-100000}"
OUT="${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/reassign-bench.XXXXXX")}"
DATABASE="${DATABASE:-sqlite://$OUT/bench.db}"
mkdir -p "$OUT"
TOKEN="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

cargo build --release -q -p scim-server -p scim-conformance
target/release/scim-server serve --listen 127.0.0.1:0 --database "$DATABASE" --bootstrap-token "$TOKEN" \
  >"$OUT/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
origin=""
for _ in $(seq 1 600); do
  origin="$(grep -m1 -oE 'listening on http://[0-9.:]+' "$OUT/server.log" | sed 's/listening on //' || true)"
  [[ -n "$origin" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$origin" ]] || { echo "the server did not start" >&2; exit 1; }
echo "server: $origin ($DATABASE); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
SCIM_BENCH_TOKEN="$TOKEN" target/release/reassign-bench --origin "$origin" --records "$RECORDS" --json "$OUT/reassign.json"
echo "report: $OUT/reassign.json"
