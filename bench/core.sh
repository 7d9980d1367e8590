#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/core.sh - the reload engine's figures (not a test: it prints).
#
#   1. in-process apply time of a change, p50/p99 over 10 000 reloads
#      (goal: p99 <= 1 ms), and RSS after 100 and after 10 000 reloads
#      (goal: growth within 1 %)                       -> bench/bench_apply
#   2. file save -> applied latency over 200 saves, from the write to the
#      "result=applied" audit line's timestamp (goal: p50 <= debounce_ms + 10)
#   3. valgrind memcheck of 300 reloads on a build without sanitizers:
#      errors and definitely/indirectly lost bytes
#
# usage: bench/core.sh   (builds ./build-bench without sanitizers; needs the
# packages scripts/test.sh installs, plus valgrind for step 3)
# Environment: RELOADS (10000), SAVES (200), DEBOUNCE_MS (100)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
RELOADS=${RELOADS:-10000}
SAVES=${SAVES:-200}
DEBOUNCE_MS=${DEBOUNCE_MS:-100}

command -v valgrind >/dev/null || { [[ $(id -u) == 0 ]] && apt-get install -y valgrind >/dev/null; }

[[ -x configure ]] || autoreconf -fi >/dev/null
mkdir -p build-bench
(cd build-bench && { [[ -f Makefile ]] || ../configure >/dev/null; } && make -j"$(nproc)" >/dev/null && make bench >/dev/null)
bin=$top/build-bench/sssonector
tmp=$(mktemp -d)
pid=""
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

sh scripts/mkpki.sh "$tmp/pki" >/dev/null
conf() { # conf RATE
	cat <<CONF
mode = "server";
tunnel = {
  listen = "127.0.0.1:44300";
  cert_file = "$tmp/pki/server.crt";
  key_file = "$tmp/pki/server.key";
  ca_file = "$tmp/pki/ca.crt";
  upload_kbps = $1;
};
forward = { target = "127.0.0.1:5201"; };
reload = { debounce_ms = $DEBOUNCE_MS; history = 16; state_dir = "$tmp/state"; };
logging = { level = "info"; };
CONF
}
conf 1000 >"$tmp/sssonector.conf"
chmod 600 "$tmp/sssonector.conf"

echo "# 1. in-process apply time and RSS ($RELOADS reloads), then $RELOADS rejected ones"
build-bench/bench/bench_apply "$tmp/sssonector.conf" "$RELOADS"

echo "# 2. file save -> applied latency ($SAVES saves, debounce_ms=$DEBOUNCE_MS)"
"$bin" -c "$tmp/sssonector.conf" 2>"$tmp/daemon.log" &
pid=$!
for _ in $(seq 100); do grep -q 'event=ready' "$tmp/daemon.log" && break; sleep 0.05; done
grep -q 'event=ready' "$tmp/daemon.log" || { echo "daemon did not start"; cat "$tmp/daemon.log"; exit 1; }
: >"$tmp/lat"
for i in $(seq 1 "$SAVES"); do
	want=$((i + 1))
	conf $((2000 + i)) >"$tmp/new.conf"
	chmod 600 "$tmp/new.conf"
	# rename(2) and the clock read in one process: timing `mv` would add
	# its fork and exec (about 20 ms here) to the daemon's latency.
	t0=$(perl -MTime::HiRes=time -e 'rename($ARGV[0], $ARGV[1]) or die "rename: $!";
		printf "%d\n", time * 1000' "$tmp/new.conf" "$tmp/sssonector.conf")
	line=""
	for _ in $(seq 400); do
		line=$(grep -m1 "result=applied version=$want " "$tmp/daemon.log" || true)
		[[ -n $line ]] && break
		sleep 0.01
	done
	[[ -n $line ]] || { echo "save $i not applied"; tail "$tmp/daemon.log"; exit 1; }
	ts=$(sed -n 's/^ts=\([^ ]*\) .*/\1/p' <<<"$line")
	t1=$(date -d "$ts" +%s%3N)
	echo $((t1 - t0)) >>"$tmp/lat"
done
sort -n "$tmp/lat" | awk -v d="$DEBOUNCE_MS" '{ v[NR] = $1 } END {
	p50 = v[int(NR * 0.5) + (NR % 2)]; p99 = v[int(NR * 0.99)]; if (p99 == "") p99 = v[NR]
	printf "save_to_applied_ms p50=%d p99=%d max=%d n=%d goal_p50<=%d\n", p50, p99, v[NR], NR, d + 10 }'
n_applied=$(grep -c 'result=applied' "$tmp/daemon.log")
echo "applied lines: $n_applied (expected $((SAVES + 1)): one per save plus startup)"
kill "$pid"; wait "$pid" || true; pid=""

echo "# 3. valgrind memcheck, 300 reloads (build without sanitizers)"
conf 1000 >"$tmp/sssonector.conf"
valgrind --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=3 \
	build-bench/bench/bench_apply "$tmp/sssonector.conf" 300 >"$tmp/vg.out" 2>"$tmp/vg.log" || true
grep -E 'ERROR SUMMARY|definitely lost|indirectly lost|All heap blocks|in use at exit' "$tmp/vg.log" | sed 's/^==[0-9]*== */  /'
