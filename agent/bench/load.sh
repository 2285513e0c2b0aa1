#!/usr/bin/env bash
# Benchmark of the sync agent (not a test): an initial load of N people (100,000 by default)
# from a generated CSV into an empty Rollcall server on a fresh SQLite database on loopback,
# then a no-change re-run over them. Prints wall time, people per second, and the CPU time
# the agent and the server each used, so that it is plain which side is the bottleneck.
#
#   agent/bench/load.sh                     # 100,000 people, concurrency 16
#   N=20000 CONCURRENCY=8 agent/bench/load.sh
#
# Needs: cargo, awk, /usr/bin/time. Everything runs in a temporary directory, removed at the
# end (KEEP=1 keeps it). Run it on a quiet machine: check `uptime` first.
set -euo pipefail

N="${N:-100000}"
CONCURRENCY="${CONCURRENCY:-16}"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

cargo build --release --locked -p scim-server -p scim-agent >&2
target_dir="$(cargo metadata --format-version 1 --no-deps --locked |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
server_bin="$target_dir/release/scim-server"
agent_bin="$target_dir/release/scim-agent"

work="$(mktemp -d "${TMPDIR:-/tmp}/scim-agent-bench.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The CSV: a reporting tree (person i reports to person (i-1)/10), 8 departments, each person
# in their department's group and in "Everyone" (a group of N members).
awk -v n="$N" 'BEGIN {
  split("Sales Support Engineering Finance Legal Ops Design People", d, " ");
  print "externalId,userName,givenName,familyName,displayName,email,userType,active,companyRole,department,manager,groups";
  for (i = 0; i < n; i++) {
    dept = d[i % 8 + 1];
    manager = i > 0 ? sprintf("E%07d", int((i - 1) / 10)) : "";
    printf "E%07d,person%d@example.com,Given%d,Family%d,Person %d,person%d@example.com,Employee,true,member,%s,%s,%s;Everyone\n",
      i, i, i, i, i, i, dept, manager, dept;
  }
}' >"$work/people.csv"

token="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
SCIM_BOOTSTRAP_TOKEN="$token" "$server_bin" serve --listen 127.0.0.1:0 --log warn \
  --database "sqlite://$work/bench.db" >"$work/server.log" 2>&1 &
server_pid=$!
origin=""
for _ in $(seq 1 150); do
  origin="$(sed -nE 's#^Rollcall SCIM server listening on (http://127\.0\.0\.1:[0-9]+)/?$#\1#p' "$work/server.log" | head -n1)"
  [[ -n "$origin" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
[[ -n "$origin" ]] || { echo "the server did not start" >&2; exit 1; }

ticks="$(getconf CLK_TCK)"
server_cpu() { awk -v t="$ticks" '{ printf "%.1f", ($14 + $15) / t }' "/proc/$server_pid/stat"; }

run_phase() {
  local name="$1" cmd="$2"
  local before after
  before="$(server_cpu)"
  SCIM_AGENT_TARGET_TOKEN="$token" /usr/bin/time -f "%e %U %S %M" -o "$work/time.$name" \
    "$agent_bin" "$cmd" --source "csv:$work/people.csv" --target "$origin/scim/v2" \
    --state-file "$work/state.json" --json "$work/$name.json" --rate-limit 0 --concurrency "$CONCURRENCY" \
    --plan-rows 5 >"$work/$name.out" || { cat "$work/$name.out" >&2; exit 1; }
  after="$(server_cpu)"
  read -r wall user sys rss <"$work/time.$name"
  local agent_cpu server_used rate
  agent_cpu="$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')"
  server_used="$(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.1f", a - b }')"
  rate="$(awk -v n="$N" -v w="$wall" 'BEGIN { printf "%.0f", n / w }')"
  printf '| %-18s | %8ss | %10s | %9ss | %10ss | %8s MB |\n' \
    "$name" "$wall" "$rate" "$agent_cpu" "$server_used" "$((rss / 1024))"
}

echo
echo "scim-agent benchmark: $N people, concurrency $CONCURRENCY, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| phase              |     wall | people/s   | agent CPU | server CPU  | agent RSS  |"
echo "|--------------------|----------|------------|-----------|-------------|------------|"
run_phase initial-load apply
run_phase no-change-rerun apply
echo
grep -E "^  (people|groups):|Nothing to do|^Done" "$work/initial-load.out" "$work/no-change-rerun.out" | sed 's#^.*/##'
