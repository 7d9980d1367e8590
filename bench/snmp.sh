#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/snmp.sh - the AgentX subagent's figures (not a test: it prints).
#
#   1. snmpget round trip on loopback through a private snmpd to the
#      subagent, p50/p99 over N requests; snmpd answering alone
#      (sysUpTime.0) as the baseline
#   2. snmpset round trip of sssUploadKbps, alternating two values so that
#      every SET is a real change: engine apply, write-back of the file
#      (fsync and rename included), notification; p50/p99 over N
#      (goal: p50 <= 10 ms)
#   3. the tunnel's largest data gap while snmpd is SIGSTOPped for
#      STOP_S seconds: a stream of small lines every 10 ms through a
#      forward tunnel (client daemon -> server daemon, the SNMP subagent ->
#      socat echo) (goal: <= 100 ms)
#
# The round trips are measured in one process with Net-SNMP's synchronous
# API (a small C probe compiled here), so process start-up is not counted.
#
# usage: bench/snmp.sh   (as root or not; needs the packages
# scripts/test.sh installs; uses $SSSONECTOR, else build-bench/sssonector,
# else build/sssonector)
# Environment: N (1000), STOP_S (10)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
N=${N:-1000}
STOP_S=${STOP_S:-10}
bin=${SSSONECTOR:-}
for b in "$bin" "$top/build-bench/sssonector" "$top/build/sssonector"; do
	[[ -n $b && -x $b ]] && { bin=$b; break; }
done
[[ -x $bin ]] || { echo "no sssonector binary: build first (scripts/test.sh) or set SSSONECTOR" >&2; exit 1; }
export MIBS= MIBDIRS=/nonexistent

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sssonector-snmpbench.XXXXXX")
chmod 0700 "$tmp"
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
# until_ok SECONDS WHAT CMD...: poll CMD until it succeeds.
until_ok() {
	local end=$(($(now_ms) + $1 * 1000)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		(($(now_ms) < end)) || { echo "timed out waiting for $what" >&2; exit 1; }
		sleep 0.02
	done
}
free_port() { # free_port tcp|udp
	local p
	while :; do
		p=$((20000 + RANDOM % 12768))
		[[ -z $(ss -Hn"${1:0:1}"a "sport = :$p" 2>/dev/null) ]] && { echo "$p"; return; }
	done
}

# ---- the probe -------------------------------------------------------------------
cat >"$tmp/rtt.c" <<'EOF'
/* rtt PEER COMMUNITY N get|set OID: synchronous round trips, p50/p99/max in ms. */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}
int main(int argc, char **argv)
{
	netsnmp_session s, *ss;
	oid name[MAX_OID_LEN];
	size_t len = MAX_OID_LEN;
	int n = atoi(argv[3]), set = strcmp(argv[4], "set") == 0;
	double *ms = calloc((size_t)n, sizeof(*ms));
	init_snmp("rtt");
	snmp_sess_init(&s);
	s.peername = argv[1];
	s.version = SNMP_VERSION_2c;
	s.community = (u_char *)argv[2];
	s.community_len = strlen(argv[2]);
	s.timeout = 3000000;
	s.retries = 0;
	if (!(ss = snmp_open(&s)) || !read_objid(argv[5], name, &len))
		return 2;
	for (int i = 0; i < n; i++) {
		netsnmp_pdu *pdu = snmp_pdu_create(set ? SNMP_MSG_SET : SNMP_MSG_GET), *resp = NULL;
		u_long v = (i % 2) ? 6000 : 7000;
		struct timespec a, b;
		if (set)
			snmp_pdu_add_variable(pdu, name, len, ASN_UNSIGNED, &v, sizeof(v));
		else
			snmp_add_null_var(pdu, name, len);
		clock_gettime(CLOCK_MONOTONIC, &a);
		int st = snmp_synch_response(ss, pdu, &resp);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (st != STAT_SUCCESS || !resp || resp->errstat != SNMP_ERR_NOERROR) {
			fprintf(stderr, "request %d failed (status %d, errstat %ld)\n", i, st, resp ? resp->errstat : -1L);
			return 1;
		}
		snmp_free_pdu(resp);
		ms[i] = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
	}
	qsort(ms, (size_t)n, sizeof(*ms), cmp);
	printf("p50 %.2f ms  p99 %.2f ms  max %.2f ms  (n=%d)\n", ms[n / 2], ms[n * 99 / 100], ms[n - 1], n);
	snmp_close(ss);
	return 0;
}
EOF
cc -O2 -o "$tmp/rtt" "$tmp/rtt.c" $(pkg-config --cflags --libs netsnmp)

# ---- snmpd, the PKI, the server daemon ----------------------------------------------
sport=$(free_port udp)
mkdir -m 0700 "$tmp/agentx" "$tmp/persist"
cat >"$tmp/snmpd.conf" <<EOF
master agentx
agentXSocket $tmp/agentx/master
agentXPerms 0600 0700
agentAddress udp:127.0.0.1:$sport
rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
EOF
SNMP_PERSISTENT_DIR=$tmp/persist snmpd -f -C -c "$tmp/snmpd.conf" -I -smux -Lf "$tmp/snmpd.log" \
	-p "$tmp/snmpd.pid" </dev/null >/dev/null 2>&1 &
snmpd_pid=$!
pids+=("$snmpd_pid")
until_ok 10 snmpd snmpget -v2c -c public -t 1 -r 0 "127.0.0.1:$sport" .1.3.6.1.2.1.1.3.0

sh scripts/mkpki.sh "$tmp/pki" >/dev/null 2>&1
tport=$(free_port tcp)
eport=$(free_port tcp)
cport=$(free_port tcp)
cat >"$tmp/server.conf" <<EOF
mode = "server";
transport = "forward";
tunnel = {
  listen = "127.0.0.1:$tport";
  cert_file = "$tmp/pki/server.crt";
  key_file = "$tmp/pki/server.key";
  ca_file = "$tmp/pki/ca.crt";
  upload_kbps = 10000;
};
forward = { target = "127.0.0.1:$eport"; };
monitor = { snmp_enabled = true; agentx_socket = "$tmp/agentx/master"; agentx_ping_s = 1; };
reload = { state_dir = "$tmp/state"; };
EOF
chmod 0600 "$tmp/server.conf"
"$bin" -c "$tmp/server.conf" 2>"$tmp/server.log" &
pids+=("$!")
until_ok 10 "the subagent" sh -c "snmpget -v2c -c public -t 1 -r 0 -Oqv 127.0.0.1:$sport .1.3.6.1.4.1.54321.1.1.1.0 | grep -qx '[0-9]*'"

echo "# 1. snmpget round trip ($N requests, loopback)"
printf '   snmpd alone (sysUpTime.0):          '
"$tmp/rtt" "127.0.0.1:$sport" public "$N" get .1.3.6.1.2.1.1.3.0
printf '   subagent (sssConfigVersion.0):      '
"$tmp/rtt" "127.0.0.1:$sport" public "$N" get .1.3.6.1.4.1.54321.1.1.1.0
echo "# 2. snmpset round trip of sssUploadKbps ($N changes, write-back included; goal p50 <= 10 ms)"
printf '   '
"$tmp/rtt" "127.0.0.1:$sport" private "$N" set .1.3.6.1.4.1.54321.1.4.2.0
echo "   applied versions: $(grep -c 'result=applied .*source=snmp' "$tmp/server.log"), write-backs: $(grep -c 'event=writeback ' "$tmp/server.log")"

# ---- 3. the data gap while snmpd is stopped -----------------------------------------------
# (SIGSTOP data-gap part.)
if ! command -v socat >/dev/null; then
	echo "# 3. skipped: socat not installed"
	exit 0
fi
echo "# 3. the tunnel's largest data gap while snmpd is SIGSTOPped for ${STOP_S} s (goal <= 100 ms)"
socat "TCP-LISTEN:$eport,bind=127.0.0.1,reuseaddr,fork" EXEC:cat </dev/null &
pids+=("$!")
cat >"$tmp/client.conf" <<EOF
mode = "client";
transport = "forward";
tunnel = {
  server = "127.0.0.1:$tport";
  cert_file = "$tmp/pki/client.crt";
  key_file = "$tmp/pki/client.key";
  ca_file = "$tmp/pki/ca.crt";
};
forward = { listen = "127.0.0.1:$cport"; };
monitor = { snmp_enabled = false; };
reload = { state_dir = "$tmp/state"; };
EOF
chmod 0600 "$tmp/client.conf"
"$bin" -c "$tmp/client.conf" 2>"$tmp/client.log" &
pids+=("$!")
until_ok 10 "the client's forward.listen" sh -c "ss -Htln 'sport = :$cport' | grep -q ."
mkfifo "$tmp/up" "$tmp/down"
: >"$tmp/recv"
socat -t 60 "OPEN:$tmp/up!!OPEN:$tmp/down,wronly" "TCP:127.0.0.1:$cport" &
pids+=("$!")
(exec <"$tmp/down"; while read -r _; do t=${EPOCHREALTIME/./}; echo $((t / 1000)) >>"$tmp/recv"; done) &
pids+=("$!")
# Paced by read -t on an idle fifo (a builtin: no process per line).
mkfifo "$tmp/pace"
(exec >"$tmp/up" 9<>"$tmp/pace"; while :; do echo x; read -r -t 0.01 -u 9 || :; done) &
pids+=("$!")
until_ok 10 "the stream" test -s "$tmp/recv"
kill -STOP "$snmpd_pid"
a=$(now_ms)
sleep "$STOP_S" # the measurement window, not a synchronisation
kill -CONT "$snmpd_pid"
b=$(now_ms)
awk -v a="$a" -v b="$b" '$1 >= a && $1 <= b { if (p && $1 - p > g) g = $1 - p; p = $1; n++ }
	END { printf "   largest gap %d ms over %d echoed lines in %d ms\n", g, n, b - a }' "$tmp/recv"
# For comparison, the same stream with snmpd running.
a=$(now_ms)
sleep "$STOP_S"
b=$(now_ms)
awk -v a="$a" -v b="$b" '$1 >= a && $1 <= b { if (p && $1 - p > g) g = $1 - p; p = $1; n++ }
	END { printf "   (snmpd running: largest gap %d ms over %d lines)\n", g, n }' "$tmp/recv"
