#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/tunnel.sh - the data plane's figures (issue "Tunnel data plane",
# section "Benchmarks").  Not a test: it prints.  See bench/README.md for
# what each line means.
#
#   1. throughput, iperf3 single stream, limiter off, medians of ROUNDS runs:
#      `forward` on loopback vs stunnel and socat, `tun` across two network
#      namespaces vs OpenVPN, every peer measured by ../shared/bench/peers.sh
#      in the same run, interleaved round by round; ratios (goals: forward
#      >= 1.3x stunnel and socat, tun >= 4x OpenVPN); then one extra run of
#      each with `perf stat` (system calls per MB) and `perf record` (where
#      the CPU goes) on both daemons
#   2. limiter accuracy in forward mode: iperf3 goodput / set rate at 1, 10,
#      100 Mbit/s, 10 s each leaving out the first second, ACC_RUNS runs per
#      rate (goal: every run within +-1 %); peers.sh's tc-tbf and OpenVPN
#      shaper anchors from the same run
#   3. rate change: from the `result=applied` audit line to the new rate at
#      the receiver, 1 -> 50 Mbit/s and back, CHANGES times (goal <= 100 ms)
#   4. stall: a 24-byte probe every 1 ms through `forward`, without and with
#      reloads (rate changes on the client, server certificate rotations):
#      largest and p99 inter-arrival gap (goal: largest <= 5 ms); then the
#      same with daemons and probes at real-time priority (stallrt), which
#      takes the rest of the machine's load out of the figure
#   5. apply time with the tunnel component live: bench_apply --tunnel,
#      p50/p99 over RELOADS reloads (goal p99 <= 1 ms), without it, and with
#      it at real-time priority
#
# usage: bench/tunnel.sh [--only SECTION[,SECTION...]]
#   sections: throughput, accuracy, ratechange, stall, stallrt, apply (default: all)
# Environment: BENCH_SECONDS (8) BENCH_OMIT (1) ROUNDS (3) ACC_RUNS (5)
#   ACC_SECONDS (10) CHANGES (10) STALL_SECONDS (8) RELOADS (10000)
#   PROFILE_SECONDS (4) BENCH_BUILD (build-bench) PEERS (../shared/bench/peers.sh)
#   BENCH_KEEP=1 keeps the temp dir (logs, configs, iperf3 JSON, perf data).
# Needs root for the namespaces (tun, OpenVPN) and perf; iperf3, perf,
# openssl, iproute2 (peers.sh installs stunnel4, socat, openvpn itself).
# Takes about 9 minutes with the defaults; every wait is bounded.
#
# Tidiness: a private mktemp -d directory; every process it starts is
# recorded with its start time and stopped by PID (its own session, so its
# process group) after each section and on exit; the namespaces bsssA-<pid>
# and bsssB-<pid> are deleted on exit.  Traffic stays on 127.0.0.1 and
# inside those namespaces (10.201.0.0/30 on the veth, 10.201.1.0/24 in the
# tunnel).
set -euo pipefail
shopt -s inherit_errexit
export LC_ALL=C
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
top=$PWD

BENCH_SECONDS=${BENCH_SECONDS:-8}
BENCH_OMIT=${BENCH_OMIT:-1}
ROUNDS=${ROUNDS:-3}
ACC_RUNS=${ACC_RUNS:-5}
ACC_SECONDS=${ACC_SECONDS:-10}
CHANGES=${CHANGES:-10}
STALL_SECONDS=${STALL_SECONDS:-8}
STALL_RT=0
RELOADS=${RELOADS:-10000}
PROFILE_SECONDS=${PROFILE_SECONDS:-4}
BENCH_BUILD=${BENCH_BUILD:-build-bench}
PEERS=${PEERS:-$top/../shared/bench/peers.sh}
BENCH_KEEP=${BENCH_KEEP:-0}
export BENCH_SECONDS BENCH_OMIT

SECTIONS=(throughput connrate memory accuracy ratechange stall stallrt apply)
ONLY=""
while (($#)); do
	case $1 in
	--only) (($# >= 2)) || { echo "usage: $0 [--only SECTION,...]" >&2; exit 2; }; ONLY=$2; shift 2 ;;
	--only=*) ONLY=${1#*=}; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument: $1 (sections: ${SECTIONS[*]})" >&2; exit 2 ;;
	esac
done
SELECTED=("${SECTIONS[@]}")
if [[ -n $ONLY ]]; then
	IFS=, read -ra SELECTED <<<"$ONLY"
	for s in "${SELECTED[@]}"; do
		[[ " ${SECTIONS[*]} " == *" $s "* ]] || { echo "unknown section: $s (${SECTIONS[*]})" >&2; exit 2; }
	done
fi

note() { printf '# %s\n' "$*" >&2; }

# Bounds (seconds).
READY_TIMEOUT=10   # a daemon's event=ready, a tunnel up, a listener
APPLY_TIMEOUT=5    # a reload's result=applied
STOP_TIMEOUT=3     # SIGTERM grace before SIGKILL

# Namespace addresses (exist only inside this script's namespaces).
NS_A=bsssA-$$ NS_B=bsssB-$$
VETH_A=10.201.0.1 VETH_B=10.201.0.2
TUN_A=10.201.1.1 TUN_B=10.201.1.2

# --------------------------------------------------------------------------
# Bookkeeping and cleanup (processes by recorded PID + start time)
# --------------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tunnel-bench.XXXXXX")
chmod 700 "$TMP"
mkdir -p "$TMP/log"
: >"$TMP/pids"
: >"$TMP/netns"
SEC_PID=""

starttime() {
	local s fields
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	read -ra fields <<<"$s"
	printf '%s\n' "${fields[19]}"
}
alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	s=${s%% *}
	[[ $s != Z && $s != X ]]
}
not_alive() { ! alive "$1"; }
ours() { # ours PID: still the process we started
	local st cur
	st=$(awk -v p="$1" '$1 == p { print $2 }' "$TMP/pids")
	[[ -n $st ]] || return 1
	cur=$(starttime "$1") || return 1
	[[ $cur == "$st" ]]
}

# stop_pid PID [SIGNAL]: signal one recorded process (its group), wait its
# grace (third column of the pids file, else STOP_TIMEOUT), then KILL.
stop_pid() {
	local pid=$1 sig=${2:-TERM} i grace
	ours "$pid" || return 0
	grace=$(awk -v p="$pid" '$1 == p { print $3 }' "$TMP/pids")
	kill -"$sig" -- "-$pid" 2>/dev/null || kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < ${grace:-$STOP_TIMEOUT} * 20; i++)); do
		alive "$pid" || return 0
		sleep 0.05
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
	local pid st
	if [[ -s $TMP/pids ]]; then
		while read -r pid st _; do
			[[ -n $pid ]] && stop_pid "$pid"
		done <"$TMP/pids"
		: >"$TMP/pids"
	fi
}

del_netns() {
	local ns
	if [[ -s $TMP/netns ]]; then
		while read -r ns; do
			[[ -n $ns ]] && { ip netns del "$ns" 2>/dev/null || note "warning: could not delete netns $ns"; }
		done <"$TMP/netns"
		: >"$TMP/netns"
	fi
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [[ -n $SEC_PID ]]; then
		kill -TERM "$SEC_PID" 2>/dev/null || true
		wait "$SEC_PID" 2>/dev/null || true
	fi
	stop_all
	del_netns
	if [[ $BENCH_KEEP == 1 ]]; then note "kept temp dir: $TMP"; else rm -rf -- "$TMP"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# spawn NAME NS|'' cmd... -> SPAWNED_PID, SPAWNED_LOG (own session; recorded;
# the log is $TMP/log/SECTION-NAME.log; SPAWN_PREFIX, e.g. (chrt -f 20), goes
# in front of cmd)
SPAWN_PREFIX=()
SPAWN_GRACE=""
spawn() {
	local name=$1 ns=$2 st
	shift 2
	SPAWNED_LOG=$TMP/log/${SECTION:-main}-$name.log
	if [[ -n $ns ]]; then
		setsid ip netns exec "$ns" "${SPAWN_PREFIX[@]}" "$@" </dev/null >"$SPAWNED_LOG" 2>&1 &
	else
		setsid "${SPAWN_PREFIX[@]}" "$@" </dev/null >"$SPAWNED_LOG" 2>&1 &
	fi
	SPAWNED_PID=$!
	st=$(starttime "$SPAWNED_PID") || st=-
	echo "$SPAWNED_PID $st $SPAWN_GRACE" >>"$TMP/pids"
}

die() {
	printf '%s\n' "$*" >"$TMP/reason"
	exit 1
}

# wait_for DESC SECONDS CMD...: poll CMD every 20 ms until it succeeds
wait_for() {
	local what=$1 limit=$2 deadline
	shift 2
	deadline=$((SECONDS + limit))
	until "$@"; do
		((SECONDS < deadline)) || die "timed out after ${limit}s waiting for $what"
		sleep 0.02
	done
}

ns_run() {
	local ns=$1
	shift
	if [[ -n $ns ]]; then ip netns exec "$ns" "$@"; else "$@"; fi
}
listening() { # listening NS PORT
	[[ -n $(ns_run "$1" ss -Htln "sport = :$2" 2>/dev/null) ]]
}

free_ports() { # free_ports N
	local n=$1 used p tries=0
	local -a got=()
	used=" $(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); printf "%s ", a[n] }') "
	while ((${#got[@]} < n)); do
		((tries++ < 500)) || die "no free TCP port found"
		p=$((20000 + RANDOM % 40000))
		[[ $used == *" $p "* || " ${got[*]} " == *" $p "* ]] && continue
		got+=("$p")
	done
	echo "${got[*]}"
}

# "busy steal total" jiffies over all CPUs; cpu_note BEFORE AFTER [EXTRA]
cpu_ticks() {
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, $9, t; exit }' /proc/stat
}
cpu_note() {
	awk -v a="$1" -v b="$2" -v x="${3:-}" 'BEGIN { split(a, p, " "); split(b, q, " "); t = q[3] - p[3]
		if (t > 0) printf "#   cpu during scenario: %.0f%% busy, %.1f%% steal%s\n",
			100 * (q[1] - p[1]) / t, 100 * (q[2] - p[2]) / t, x }' >&2
}
# process CPU time in clock ticks (utime + stime, all threads)
proc_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) }
	awk '{ print $12 + $13 }' <<<"$s"
}
CLK_TCK=$(getconf CLK_TCK)

median() { # median VALUES...
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit 1
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --------------------------------------------------------------------------
# Build (no sanitizers) and PKI
# --------------------------------------------------------------------------
for c in iperf3 openssl ss ip jq; do
	command -v "$c" >/dev/null || { echo "$c is not installed" >&2; exit 1; }
done
[[ -x configure ]] || autoreconf -fi >/dev/null
mkdir -p "$BENCH_BUILD"
(cd "$BENCH_BUILD" && { [[ -f Makefile ]] || "$top/configure" >/dev/null; } &&
	make -j"$(nproc)" >/dev/null && make bench >/dev/null) ||
	{ echo "build failed in $BENCH_BUILD" >&2; exit 1; }
BIN=$top/$BENCH_BUILD/sssonector
PROBE=$top/$BENCH_BUILD/bench/probe
APPLY=$top/$BENCH_BUILD/bench/bench_apply
[[ $BENCH_BUILD == /* ]] && BIN=$BENCH_BUILD/sssonector PROBE=$BENCH_BUILD/bench/probe APPLY=$BENCH_BUILD/bench/bench_apply

PKI=$TMP/pki
sh scripts/mkpki.sh "$PKI" >"$TMP/log/mkpki.log" 2>&1 || { cat "$TMP/log/mkpki.log" >&2; exit 1; }

IS_ROOT=0
[[ $(id -u) == 0 ]] && IS_ROOT=1
HAVE_PERF=0
if ((IS_ROOT)) && command -v perf >/dev/null && perf stat -e raw_syscalls:sys_enter true >/dev/null 2>&1; then
	HAVE_PERF=1
fi

note "tunnel.sh: BENCH_SECONDS=$BENCH_SECONDS BENCH_OMIT=$BENCH_OMIT ROUNDS=$ROUNDS, $(nproc) CPUs," \
	"kernel $(uname -r), tcp_congestion_control=$(cat /proc/sys/net/ipv4/tcp_congestion_control)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
note "daemon: $BIN ($(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$top" diff --quiet 2>/dev/null || echo ', with local changes'))," \
	"$(openssl version | awk '{ print $1, $2 }'), $(iperf3 --version 2>/dev/null | awk 'NR == 1 { print $1, $2 }')"

# --------------------------------------------------------------------------
# Daemons
# --------------------------------------------------------------------------
# conf FILE LINES...: write a configuration atomically (temp file + rename), 0600
conf() {
	local f=$1
	shift
	printf '%s\n' "$@" >"$f.tmp"
	chmod 600 "$f.tmp"
	mv -f "$f.tmp" "$f"
}
COMMON=('monitor = { snmp_enabled = false; };' 'logging = { level = "info"; };'
	"reload = { debounce_ms = 10; state_dir = \"$TMP/state\"; };")

# The peers are configured for AES-256-GCM; our daemons pick AES-128-GCM by
# default, so every figure is measured both ways (like for like: this).
AES256='tls_ciphersuites = "TLS_AES_256_GCM_SHA384";'

# fwd_server_conf FILE TLS_PORT TARGET_PORT [TUNNEL_EXTRA]
fwd_server_conf() {
	conf "$1" 'mode = "server";' 'transport = "forward";' \
		"tunnel = { listen = \"127.0.0.1:$2\"; cert_file = \"$PKI/server.crt\";" \
		"  key_file = \"$PKI/server.key\"; ca_file = \"$PKI/ca.crt\"; max_pending = 4096; ${4:-} };" \
		"forward = { target = \"127.0.0.1:$3\"; max_streams = 4096; };" 'throttle = { enabled = false; };' "${COMMON[@]}"
}
# fwd_client_conf FILE TLS_PORT LISTEN_PORT THROTTLE(true|false) UPLOAD_KBPS
fwd_client_conf() {
	conf "$1" 'mode = "client";' 'transport = "forward";' \
		"tunnel = { server = \"127.0.0.1:$2\"; server_name = \"sssonector-server\";" \
		"  cert_file = \"$PKI/client.crt\"; key_file = \"$PKI/client.key\"; ca_file = \"$PKI/ca.crt\";" \
		"  upload_kbps = $5; max_pending = 4096; };" \
		"forward = { listen = \"127.0.0.1:$3\"; max_streams = 4096; };" "throttle = { enabled = $4; };" "${COMMON[@]}"
}

# start_daemon NAME NS CONF -> DAEMON_PID, DAEMON_LOG (waits for event=ready)
start_daemon() {
	spawn "$1" "$2" "$BIN" -c "$3"
	DAEMON_PID=$SPAWNED_PID DAEMON_LOG=$SPAWNED_LOG
	local deadline=$((SECONDS + READY_TIMEOUT))
	until grep -q 'event=ready' "$DAEMON_LOG"; do
		alive "$DAEMON_PID" || die "$1 exited: $(tail -n 3 "$DAEMON_LOG" | tr '\n' ' ')"
		((SECONDS < deadline)) || die "$1: no event=ready within ${READY_TIMEOUT}s"
		sleep 0.02
	done
}

applied_count() { grep -c 'result=applied' "$1" || true; }
# wait_applied LOG N: until LOG has N result=applied lines
wait_applied() {
	local log=$1 want=$2 deadline=$((SECONDS + APPLY_TIMEOUT))
	while (($(applied_count "$log") < want)); do
		if grep -q 'result=rejected' "$log"; then die "a reload was rejected: $(grep 'result=rejected' "$log" | tail -n 1)"; fi
		((SECONDS < deadline)) || die "no result=applied #$want within ${APPLY_TIMEOUT}s in ${log##*/}"
		sleep 0.01
	done
}
# epoch ms of the Nth result=applied line of LOG
applied_ms() {
	local ts
	ts=$(grep 'result=applied' "$1" | sed -n "${2}p" | sed -n 's/^ts=\([^ ]*\) .*/\1/p')
	[[ -n $ts ]] || die "no applied line #$2"
	date -d "$ts" +%s%3N
}

# forward pair: FWD_S_PID FWD_C_PID FWD_S_LOG FWD_C_LOG, ports P_TLS P_PLAIN P_TARGET
fwd_up() { # fwd_up THROTTLE KBPS [SERVER_TUNNEL_EXTRA [NAME]]
	local n=${4:-fwd}
	read -r P_TLS P_PLAIN P_TARGET <<<"$(free_ports 3)"
	FWD_S_CONF=$TMP/$n-server.conf FWD_C_CONF=$TMP/$n-client.conf
	fwd_server_conf "$FWD_S_CONF" "$P_TLS" "$P_TARGET" "${3:-}"
	fwd_client_conf "$FWD_C_CONF" "$P_TLS" "$P_PLAIN" "$1" "$2"
	start_daemon "$n-server" "" "$FWD_S_CONF"
	FWD_S_PID=$DAEMON_PID FWD_S_LOG=$DAEMON_LOG
	start_daemon "$n-client" "" "$FWD_C_CONF"
	FWD_C_PID=$DAEMON_PID FWD_C_LOG=$DAEMON_LOG
}
# fwd_client_set THROTTLE KBPS: rewrite the client's file, wait until applied
fwd_client_set() {
	local n
	n=$(applied_count "$FWD_C_LOG")
	fwd_client_conf "$FWD_C_CONF" "$P_TLS" "$P_PLAIN" "$1" "$2"
	wait_applied "$FWD_C_LOG" $((n + 1))
}

# tun pair across two namespaces: TUN_S_PID TUN_C_PID TUN_S_LOG TUN_C_LOG
tun_up() {
	((IS_ROOT)) || die "needs root (network namespaces)"
	[[ -c /dev/net/tun ]] || die "no /dev/net/tun"
	local ns p
	for ns in "$NS_A" "$NS_B"; do
		ip netns add "$ns" || die "ip netns add $ns failed"
		echo "$ns" >>"$TMP/netns"
		ip -n "$ns" link set lo up
	done
	ip link add tvA netns "$NS_A" type veth peer name tvB netns "$NS_B" || die "veth failed"
	ip -n "$NS_A" addr add "$VETH_A/30" dev tvA
	ip -n "$NS_B" addr add "$VETH_B/30" dev tvB
	ip -n "$NS_A" link set tvA up
	ip -n "$NS_B" link set tvB up
	wait_for "the veth to pass a ping" 5 ip netns exec "$NS_B" ping -c 1 -W 1 -q "$VETH_A" >/dev/null 2>&1
	TUN_PORT=$((20000 + RANDOM % 40000))
	tun_server_conf ""
	conf "$TMP/tun-client.conf" 'mode = "client";' 'transport = "tun";' \
		"tunnel = { server = \"$VETH_A:$TUN_PORT\"; server_name = \"sssonector-server\"; cert_file = \"$PKI/client.crt\"; key_file = \"$PKI/client.key\"; ca_file = \"$PKI/ca.crt\"; };" \
		"network = { interface = \"sssb0\"; address = \"$TUN_B/24\"; };" 'throttle = { enabled = false; };' "${COMMON[@]}"
	start_daemon tun-server "$NS_A" "$TMP/tun-server.conf"
	TUN_S_PID=$DAEMON_PID TUN_S_LOG=$DAEMON_LOG
	tun_client_up
	note "  tun: $(grep -o 'event=tun_up.*' "$TUN_C_LOG" | head -n 1); $(grep -o 'version=TLS[^ ]* cipher=[^ ]*' "$TUN_C_LOG" | head -n 1)"
}
tun_server_conf() { # tun_server_conf TUNNEL_EXTRA
	conf "$TMP/tun-server.conf" 'mode = "server";' 'transport = "tun";' \
		"tunnel = { listen = \"$VETH_A:$TUN_PORT\"; cert_file = \"$PKI/server.crt\"; key_file = \"$PKI/server.key\"; ca_file = \"$PKI/ca.crt\"; $1 };" \
		"network = { interface = \"sssb0\"; address = \"$TUN_A/24\"; };" 'throttle = { enabled = false; };' "${COMMON[@]}"
}
tun_client_up() {
	start_daemon tun-client "$NS_B" "$TMP/tun-client.conf"
	TUN_C_PID=$DAEMON_PID TUN_C_LOG=$DAEMON_LOG
	wait_for "event=tunnel_up" "$READY_TIMEOUT" grep -q 'event=tunnel_up' "$TUN_C_LOG"
	wait_for "a ping across the tunnel" 5 ip netns exec "$NS_B" ping -c 1 -W 1 -q "$TUN_A" >/dev/null 2>&1
}
# tun_suites TUNNEL_EXTRA: the server's suites changed hot (applied), the
# client started again so that its session negotiates them
tun_suites() {
	local n
	n=$(applied_count "$TUN_S_LOG")
	tun_server_conf "$1"
	wait_applied "$TUN_S_LOG" $((n + 1))
	stop_pid "$TUN_C_PID"
	tun_client_up
}

# --------------------------------------------------------------------------
# iperf3
# --------------------------------------------------------------------------
# iperf_server NS ADDR PORT: a persistent server (one test at a time)
declare -A IPERF_LOG=() IPERF_N=()
iperf_server() {
	spawn "iperf3-server-$3" "$1" iperf3 -s -B "$2" -p "$3" --forceflush
	IPERF_LOG[$3]=$SPAWNED_LOG IPERF_N[$3]=0
	wait_for "iperf3 -s on port $3" "$READY_TIMEOUT" listening "$1" "$3"
}
iperf_idle() { # iperf_idle SERVER_PORT: the server is listening for its next test
	(($(grep -c 'Server listening' "${IPERF_LOG[$1]}" || true) > IPERF_N[$1]))
}
# iperf_run NS HOST PORT SECONDS OMIT TAG SERVER_PORT -> IPERF_BPS (receiver bit/s),
# IPERF_BYTES (receiver bytes); IPERF_EXTRA: more client options
IPERF_EXTRA=()
iperf_run() {
	local ns=$1 host=$2 port=$3 secs=$4 omit=$5 tag=$6 srv=$7 rc=0 json=$TMP/$6.json
	IPERF_BPS="" IPERF_BYTES=""
	# the previous test may still be finishing on the server's side
	wait_for "iperf3 server on port $srv to be idle" 60 iperf_idle "$srv"
	IPERF_N[$srv]=$((IPERF_N[$srv] + 1))
	ns_run "$ns" timeout $((secs + omit + 30)) iperf3 -c "$host" -p "$port" -t "$secs" -O "$omit" \
		-J --connect-timeout 5000 "${IPERF_EXTRA[@]}" >"$json" 2>&1 || rc=$?
	IPERF_JSON=$json
	read -r IPERF_BPS IPERF_BYTES < <(awk -F: '/"sum_received"/ { f = 1 }
		f && /"bytes"/ && b == "" { b = $2; gsub(/[^0-9.eE+-]/, "", b) }
		f && /"bits_per_second"/ { v = $2; gsub(/[^0-9.eE+-]/, "", v); print v, b; exit }' "$json") || true
	if [[ -z ${IPERF_BPS:-} ]]; then
		die "iperf3 $tag: no result (exit $rc): $(grep -m1 '"error"' "$json" || tail -n 1 "$json")"
	fi
}

# iperf_all_bytes JSON: the bytes of every interval, the omitted ones
# included (what went through the daemons while their CPU was counted)
iperf_all_bytes() {
	jq '[.intervals[].sum.bytes] | add // 0' "$1" 2>/dev/null || echo 0
}

# One measured throughput run with the CPU notes.  sss_tput NAME NS HOST PORT SERVER_PORT PIDS...
# -> also SSS_CPU_GB: CPU seconds of all PIDS per GB (10^9 bytes) moved
sss_tput() {
	local name=$1 ns=$2 host=$3 port=$4 srv=$5 c0 p extra="" t0 t1 ticks=0
	shift 5
	local -a pids=("$@") before=()
	c0=$(cpu_ticks)
	for p in "${pids[@]}"; do before+=("$(proc_ticks "$p")"); done
	t0=$(date +%s%N)
	iperf_run "$ns" "$host" "$port" "$BENCH_SECONDS" "$BENCH_OMIT" "$name-$RANDOM" "$srv"
	t1=$(date +%s%N)
	local i=0 b
	for p in "${pids[@]}"; do
		b=$(proc_ticks "$p")
		ticks=$((ticks + b - before[i]))
		extra+=$(awk -v a="${before[i]}" -v b="$b" -v hz="$CLK_TCK" -v dt="$(((t1 - t0) / 1000000))" \
			-v n="${PROC_NAMES[i]}" 'BEGIN { printf "; %s daemon %.0f%% of one CPU", n, 100 * (b - a) / hz / (dt / 1000) }')
		i=$((i + 1))
	done
	cpu_note "$c0" "$(cpu_ticks)" "$extra"
	SSS_CPU_GB=$(awk -v t="$ticks" -v hz="$CLK_TCK" -v b="$(iperf_all_bytes "$IPERF_JSON")" \
		'BEGIN { if (b > 0) printf "%.3f", t / hz / (b / 1e9) }')
}

# --------------------------------------------------------------------------
# perf: system calls per MB and a profile of one run
# --------------------------------------------------------------------------
SYSCALL_EVENTS=raw_syscalls:sys_enter
for s in read write readv writev recvfrom sendto recvmsg sendmsg epoll_wait epoll_pwait epoll_ctl; do
	SYSCALL_EVENTS+=",syscalls:sys_enter_$s"
done

# profile_run NAME NS HOST PORT SERVER_PORT CLIENT_PID SERVER_PID
profile_run() {
	local name=$1 ns=$2 host=$3 port=$4 srv=$5 cpid=$6 spid=$7 who pid f tids_c tids_s
	if ((!HAVE_PERF)); then
		echo "$name syscalls/MB: SKIPPED (needs root and perf with tracepoints)"
		return 0
	fi
	spawn "perf-stat-$name-client" "" perf stat -x, -e "$SYSCALL_EVENTS" -p "$cpid" -o "$TMP/$name-client.stat"
	local st_c=$SPAWNED_PID
	spawn "perf-stat-$name-server" "" perf stat -x, -e "$SYSCALL_EVENTS" -p "$spid" -o "$TMP/$name-server.stat"
	local st_s=$SPAWNED_PID
	spawn "perf-record-$name" "" perf record -F 999 -g -p "$cpid,$spid" -o "$TMP/$name.perf"
	local rec=$SPAWNED_PID
	sleep 0.5 # let perf attach
	tids_c=$(cd "/proc/$cpid/task" && echo *) tids_s=$(cd "/proc/$spid/task" && echo *)
	iperf_run "$ns" "$host" "$port" "$PROFILE_SECONDS" 0 "$name-profile" "$srv"
	local bytes=$IPERF_BYTES bps=$IPERF_BPS
	sleep 0.3
	for pid in "$st_c" "$st_s" "$rec"; do stop_pid "$pid" INT; done
	: >"$TMP/syscalls-$name"
	for who in client server; do
		f=$TMP/$name-$who.stat
		[[ -s $f ]] || { echo "$name syscalls/MB $who: FAILED (no perf stat output)"; continue; }
		local mb total top
		mb=$(awk -v b="$bytes" 'BEGIN { print b / 1e6 }')
		total=$(awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' "$f")
		top=$(awk -F, -v mb="$mb" '$3 ~ /^syscalls:sys_enter_/ && $1 ~ /^[0-9]+$/ && $1 > 0 {
				s = $3; sub(/^syscalls:sys_enter_/, "", s); printf "%d %s=%.1f\n", $1, s, $1 / mb }' "$f" |
			sort -rn | head -n 5 | awk '{ printf " %s", $2 }')
		awk -v n="$name" -v w="$who" -v mb="$mb" -v t="${total:-0}" -v top="$top" 'BEGIN {
			printf "%s syscalls/MB %s: %.1f (%d calls for %.0f MB of iperf3 payload; per MB:%s)\n", n, w, t / mb, t, mb, top }'
		awk -v mb="$mb" -v t="${total:-0}" 'BEGIN { printf "%.1f\n", t / mb }' >>"$TMP/syscalls-$name"
	done
	note "  profile run: $(awk -v b="$bps" 'BEGIN { printf "%.2f Gbit/s", b / 1e9 }') with perf attached (not a throughput figure)"
	[[ -s $TMP/$name.perf ]] || { echo "$name profile: FAILED (no perf data)"; return 0; }
	# DSO split and top symbols per daemon, in % of that daemon's samples
	# (perf's pid column is the thread id: map the daemons' threads)
	perf report -i "$TMP/$name.perf" --stdio -q --no-children -g none --sort pid,dso,sym 2>/dev/null >"$TMP/$name.report" || true
	awk -v n="$name" -v c="$tids_c" -v s="$tids_s" '
		BEGIN { k = split(c, a, " "); for (i = 1; i <= k; i++) who[a[i]] = "client"
			k = split(s, a, " "); for (i = 1; i <= k; i++) who[a[i]] = "server" }
		/%/ {
			pct = $1; sub(/%/, "", pct); split($2, t, ":"); w = who[t[1]]
			if (w == "") next
			dso = $3; sym = $0; sub(/^.*\] /, "", sym); gsub(/ +$/, "", sym)
			if (sym ~ /^0x/) sym = dso "@" sym   # no symbol (stripped library)
			tot[w] += pct; d[w, dso] += pct
			if (!((w, dso) in seen)) { seen[w, dso] = 1; dl[w] = dl[w] SUBSEP dso }
			if (ns[w] < 8) { ns[w]++; sl[w, ns[w]] = sym; sp[w, ns[w]] = pct }
		}
		END {
			split("client server", ws, " ")
			for (j = 1; j <= 2; j++) {
				w = ws[j]; if (tot[w] <= 0) { printf "%s profile %s: no samples\n", n, w; continue }
				# the DSOs, largest first (few: a simple selection sort)
				m = split(substr(dl[w], 2), names, SUBSEP); line = ""
				for (x = 1; x <= m; x++) for (y = x + 1; y <= m; y++)
					if (d[w, names[y]] > d[w, names[x]]) { tmp = names[x]; names[x] = names[y]; names[y] = tmp }
				for (x = 1; x <= m && x <= 5; x++) line = line sprintf(" %s %.0f%%,", names[x], 100 * d[w, names[x]] / tot[w])
				sub(/,$/, "", line)
				printf "%s profile %s: by DSO:%s\n", n, w, line
				line = ""
				for (x = 1; x <= ns[w]; x++) line = line sprintf(" %.1f%% %s,", 100 * sp[w, x] / tot[w], sl[w, x])
				sub(/,$/, "", line)
				printf "%s profile %s: top symbols:%s\n", n, w, line
			}
		}' "$TMP/$name.report"
}

# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------
goal() { # goal VALUE OP LIMIT -> "ok" or "MISS"
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = (op == ">=") ? v >= l : v <= l; print ok ? "ok" : "MISS" }'
}

# peers_run TAG SCENARIOS -> $TMP/peers-TAG.out (its result lines; its notes
# are echoed).  Spawned like our own processes, so that an interrupted run
# stops it too (with time for its own cleanup: processes, namespaces).
peers_run() {
	local tag=$1 only=$2 rc=0
	if [[ ! -f $PEERS ]]; then
		note "peers.sh not found at $PEERS"
		: >"$TMP/peers-$tag.out"
		return 0
	fi
	# peers.sh keeps its temp dir (its iperf3 JSON: the bytes moved) and
	# its daemons are sampled for their CPU time while it runs
	SPAWN_GRACE=15 spawn "peers-$tag" "" env BENCH_KEEP=1 timeout 600 bash "$PEERS" --only "$only"
	local root=$SPAWNED_PID log=$SPAWNED_LOG kept
	tree_sampler "$root" "$TMP/peers-$tag.cpu" &
	local sampler=$!
	wait "$root" || rc=$?
	wait "$sampler" 2>/dev/null || true
	grep -v '^#' "$log" >"$TMP/peers-$tag.out" || true
	sed -n 's/^# /#   peers: /p' "$log" | grep -v -e '^#   peers: versions' -e 'kept temp dir' >&2 || true
	((rc == 0)) || note "peers.sh --only $only exited $rc"
	kept=$(sed -n 's/^# kept temp dir: //p' "$log" | tail -n 1)
	: >"$TMP/peers-$tag.cpugb"
	if [[ -n $kept && -d $kept ]]; then
		local sc comm ticks bytes
		for sc in "${!PEER_COMM[@]}"; do
			[[ -f $kept/$sc.json ]] || continue
			comm=${PEER_COMM[$sc]}
			ticks=$(awk -v c="$comm" '$2 == c { if ($3 > m[$1]) m[$1] = $3 } END { for (p in m) t += m[p]; print t + 0 }' "$TMP/peers-$tag.cpu")
			bytes=$(iperf_all_bytes "$kept/$sc.json")
			awk -v s="$sc" -v t="$ticks" -v hz="$CLK_TCK" -v b="$bytes" \
				'BEGIN { if (b > 0 && t > 0) printf "%s %.3f\n", s, t / hz / (b / 1e9) }' >>"$TMP/peers-$tag.cpugb"
		done
		[[ $kept == "${TMPDIR:-/tmp}"/peers-bench.* ]] && rm -rf -- "$kept"
	fi
}
# The daemons each peers.sh scenario runs (their CPU time is theirs).
declare -A PEER_COMM=([stunnel-forward]=stunnel4 [socat-forward]=socat [haproxy-forward]=haproxy
	[nginx-forward]=nginx [openvpn-tun]=openvpn [wireguard-go-tun]=wireguard-go)
# tree_sampler ROOT OUT: while ROOT lives, every 0.1 s, "pid comm ticks"
# (utime + stime, /proc/PID/stat) of each of its descendants into OUT.  A
# process's last 0.1 s may be missed (< 2 % of a scenario's run).
tree_sampler() {
	local root=$1 out=$2 p c f s comm rest
	local -a todo kids fl
	while [[ -d /proc/$root ]]; do
		todo=("$root")
		while ((${#todo[@]})); do
			p=${todo[-1]}
			unset 'todo[-1]'
			for f in /proc/"$p"/task/*/children; do
				[[ -r $f ]] || continue
				read -r -a kids <"$f" || true
				for c in "${kids[@]}"; do
					todo+=("$c")
					read -r s <"/proc/$c/stat" 2>/dev/null || continue
					comm=${s#*(} comm=${comm%%)*} rest=${s##*) }
					read -r -a fl <<<"$rest"
					echo "$c $comm $((fl[11] + fl[12]))"
				done
			done
		done >>"$out"
		sleep 0.1
	done
}
peer_cpugb() { # peer_cpugb TAG NAME -> CPU s/GB (empty if unknown)
	awk -v n="$2" '$1 == n { print $2 }' "$TMP/peers-$1.cpugb" 2>/dev/null
}
peer_value() { # peer_value TAG NAME -> Gbit/s or ratio number (empty if failed)
	awk -v n="$2" '$1 == n ":" && $2 != "FAILED" { print $2 }' "$TMP/peers-$1.out"
}

sec_throughput() {
	echo "# 1. throughput: iperf3 single stream, limiter off, ${BENCH_SECONDS}s (first ${BENCH_OMIT}s left out), median of $ROUNDS rounds; ours with its default suite (AES-128-GCM) and with AES-256-GCM like every peer; CPU seconds per GB of both ends of each tunnel"
	local r name v have_tun=1
	local -a fwd1 fwd2
	fwd_up false 10000 "" fwd
	fwd1=("$FWD_C_PID" "$FWD_S_PID" "$P_PLAIN" "$P_TARGET" "$FWD_C_LOG")
	iperf_server "" 127.0.0.1 "$P_TARGET"
	fwd_up false 10000 "$AES256" fwd256
	fwd2=("$FWD_C_PID" "$FWD_S_PID" "$P_PLAIN" "$P_TARGET" "$FWD_C_LOG")
	iperf_server "" 127.0.0.1 "$P_TARGET"
	if ((IS_ROOT)); then
		tun_up
		iperf_server "$NS_A" "$TUN_A" 5201
	else
		have_tun=0
		note "not root: tun, OpenVPN and wireguard-go skipped"
	fi
	declare -A runs=() cpu=()
	local peers_list=plain-loopback,stunnel-forward,socat-forward,haproxy-forward,nginx-forward,openvpn-tun,wireguard-go-tun,veth-plain
	PROC_NAMES=(client server)
	for ((r = 1; r <= ROUNDS; r++)); do
		note "round $r/$ROUNDS: peers.sh --only $peers_list"
		peers_run "round$r" "$peers_list"
		for name in ${peers_list//,/ }; do
			v=$(peer_value "round$r" "$name")
			[[ -n $v ]] && runs[$name]+="$v "
			v=$(peer_cpugb "round$r" "$name")
			[[ -n $v ]] && cpu[$name]+="$v "
		done
		for name in sssonector-forward sssonector-forward-aes256; do
			note "round $r/$ROUNDS: $name"
			local -a f=("${fwd1[@]}")
			[[ $name == *aes256 ]] && f=("${fwd2[@]}")
			sss_tput "$name" "" 127.0.0.1 "${f[2]}" "${f[3]}" "${f[0]}" "${f[1]}"
			runs[$name]+=$(awk -v b="$IPERF_BPS" 'BEGIN { printf "%.2f ", b / 1e9 }')
			[[ -n $SSS_CPU_GB ]] && cpu[$name]+="$SSS_CPU_GB "
			((r > 1)) || note "  $name: $(grep -o 'version=TLS[^ ]* cipher=[^ ]*' "${f[4]}" | head -n 1 || true)"
		done
		if ((have_tun)); then
			note "round $r/$ROUNDS: sssonector-tun"
			sss_tput sssonector-tun "$NS_B" "$TUN_A" 5201 5201 "$TUN_C_PID" "$TUN_S_PID"
			runs[sssonector-tun]+=$(awk -v b="$IPERF_BPS" 'BEGIN { printf "%.2f ", b / 1e9 }')
			[[ -n $SSS_CPU_GB ]] && cpu[sssonector-tun]+="$SSS_CPU_GB "
			note "round $r/$ROUNDS: sssonector-tun-aes256 (server suites changed hot, client reconnected)"
			tun_suites "$AES256"
			((r > 1)) || note "  sssonector-tun-aes256: $(grep -o 'version=TLS[^ ]* cipher=[^ ]*' "$TUN_S_LOG" | tail -n 1 || true)"
			sss_tput sssonector-tun-aes256 "$NS_B" "$TUN_A" 5201 5201 "$TUN_C_PID" "$TUN_S_PID"
			runs[sssonector-tun-aes256]+=$(awk -v b="$IPERF_BPS" 'BEGIN { printf "%.2f ", b / 1e9 }')
			[[ -n $SSS_CPU_GB ]] && cpu[sssonector-tun-aes256]+="$SSS_CPU_GB "
			tun_suites ""
		fi
	done
	declare -A med=() cmed=()
	for name in plain-loopback stunnel-forward socat-forward haproxy-forward nginx-forward sssonector-forward \
		sssonector-forward-aes256 veth-plain openvpn-tun wireguard-go-tun sssonector-tun sssonector-tun-aes256; do
		# shellcheck disable=SC2086
		if [[ -n ${runs[$name]:-} ]] && med[$name]=$(median ${runs[$name]}); then
			printf '%s: %.2f Gbit/s (median; runs: %s)\n' "$name" "${med[$name]}" "${runs[$name]% }"
		else
			echo "$name: FAILED (no run gave a result)"
		fi
	done
	for name in stunnel-forward socat-forward haproxy-forward nginx-forward sssonector-forward sssonector-forward-aes256 \
		openvpn-tun wireguard-go-tun sssonector-tun sssonector-tun-aes256; do
		# shellcheck disable=SC2086
		[[ -n ${cpu[$name]:-} ]] && cmed[$name]=$(median ${cpu[$name]}) &&
			printf 'cpu-per-GB %s: %.2f CPU s/GB (both ends, /proc/PID/stat; median; runs: %s)\n' "$name" "${cmed[$name]}" "${cpu[$name]% }"
	done
	ratio() { # ratio A B GOAL
		if [[ -n ${med[$1]:-} && -n ${med[$2]:-} ]]; then
			local q g="" pr="" i
			q=$(awk -v a="${med[$1]}" -v b="${med[$2]}" 'BEGIN { printf "%.2f", a / b }')
			[[ -n $3 ]] && g=" (goal >= $3: $(goal "$q" '>=' "$3"))"
			local -a ra rb
			read -ra ra <<<"${runs[$1]}"
			read -ra rb <<<"${runs[$2]}"
			if ((${#ra[@]} == ${#rb[@]})); then
				for ((i = 0; i < ${#ra[@]}; i++)); do pr+=$(awk -v a="${ra[i]}" -v b="${rb[i]}" 'BEGIN { printf " %.2f", a / b }'); done
				pr="; per round:$pr"
			fi
			echo "ratio $1/$2: $q$g (of medians$pr)"
		else
			echo "ratio $1/$2: n/a"
		fi
	}
	ratio sssonector-forward-aes256 haproxy-forward 1.5
	ratio sssonector-forward-aes256 stunnel-forward 2
	ratio sssonector-forward-aes256 nginx-forward ""
	ratio sssonector-forward-aes256 socat-forward ""
	ratio sssonector-forward haproxy-forward ""
	ratio sssonector-forward stunnel-forward ""
	ratio sssonector-tun sssonector-forward 0.9
	ratio sssonector-tun-aes256 sssonector-forward-aes256 0.9
	ratio sssonector-tun wireguard-go-tun 8
	ratio sssonector-tun-aes256 openvpn-tun ""
	ratio sssonector-forward plain-loopback ""
	ratio sssonector-tun veth-plain ""
	if [[ -n ${cmed[sssonector-forward-aes256]:-} && -n ${cmed[haproxy-forward]:-} ]]; then
		q=$(awk -v a="${cmed[sssonector-forward-aes256]}" -v b="${cmed[haproxy-forward]}" 'BEGIN { printf "%.2f", a / b }')
		echo "ratio cpu-per-GB sssonector-forward-aes256/haproxy-forward: $q (goal <= 1: $(goal "$q" '<=' 1)) (lower is better)"
	else
		echo "ratio cpu-per-GB sssonector-forward-aes256/haproxy-forward: n/a"
	fi
	for name in stunnel-forward nginx-forward; do
		[[ -n ${cmed[sssonector-forward-aes256]:-} && -n ${cmed[$name]:-} ]] &&
			echo "ratio cpu-per-GB sssonector-forward-aes256/$name: $(awk -v a="${cmed[sssonector-forward-aes256]}" -v b="${cmed[$name]}" 'BEGIN { printf "%.2f", a / b }') (lower is better)"
	done
	[[ -n ${cmed[sssonector-tun]:-} && -n ${cmed[wireguard-go-tun]:-} ]] &&
		echo "ratio cpu-per-GB sssonector-tun/wireguard-go-tun: $(awk -v a="${cmed[sssonector-tun]}" -v b="${cmed[wireguard-go-tun]}" 'BEGIN { printf "%.2f", a / b }') (lower is better)"
	note "profile runs (perf attached): forward"
	profile_run sssonector-forward "" 127.0.0.1 "${fwd1[2]}" "${fwd1[3]}" "${fwd1[0]}" "${fwd1[1]}"
	if ((have_tun)); then
		note "profile runs (perf attached): tun"
		profile_run sssonector-tun "$NS_B" "$TUN_A" 5201 5201 "$TUN_C_PID" "$TUN_S_PID"
		local f_mb t_mb
		f_mb=$(awk '{ s += $1 } END { print s + 0 }' "$TMP/syscalls-sssonector-forward" 2>/dev/null || echo 0)
		t_mb=$(awk '{ s += $1 } END { print s + 0 }' "$TMP/syscalls-sssonector-tun" 2>/dev/null || echo 0)
		if awk -v f="$f_mb" -v t="$t_mb" 'BEGIN { exit !(f > 0 && t > 0) }'; then
			q=$(awk -v f="$f_mb" -v t="$t_mb" 'BEGIN { printf "%.2f", t / f }')
			echo "ratio syscalls/MB sssonector-tun/sssonector-forward: $q (both ends: $t_mb vs $f_mb) (goal <= 2: $(goal "$q" '<=' 2))"
		else
			echo "ratio syscalls/MB sssonector-tun/sssonector-forward: n/a"
		fi
	fi
	# no session may have been refused or dropped on the way
	local bad logs=("${fwd1[4]}" "${fwd2[4]}")
	((have_tun)) && logs+=("$TUN_S_LOG" "$TUN_C_LOG")
	bad=$(grep -h -E 'level=(error|warning)' "${logs[@]}" 2>/dev/null | grep -v 'event=privileges' | head -n 3 || true)
	[[ -z $bad ]] || note "warnings in the daemons' logs: $bad"
}

sec_accuracy() {
	echo "# 2. limiter accuracy (forward, client upload_kbps, throttle on, burst_ms default): iperf3 goodput / set rate, ${ACC_SECONDS}s (first second left out), $ACC_RUNS runs per rate"
	local kbps i v
	fwd_up false 10000
	iperf_server "" 127.0.0.1 "$P_TARGET"
	for kbps in 1000 10000 100000; do
		fwd_client_set true "$kbps"
		# Cap iperf3's socket buffers at 50 ms of the rate (>= 16 KiB): the
		# limiter pushes back through TCP, and with autotuning (tcp_rmem's
		# maximum is 32 MB on a stock kernel) iperf3 queues megabytes ahead of it; its
		# end-of-test message on the control connection then waits behind
		# that queue in the shared bucket (30 s at 1 Mbit/s, see README).
		IPERF_EXTRA=(-w $((kbps * 50 / 8 > 16384 ? kbps * 50 / 8 : 16384)))
		local -a rs=()
		for ((i = 1; i <= ACC_RUNS; i++)); do
			iperf_run "" 127.0.0.1 "$P_PLAIN" "$ACC_SECONDS" 1 "acc-$kbps-$i" "$P_TARGET"
			rs+=("$(awk -v b="$IPERF_BPS" -v t="$kbps" 'BEGIN { printf "%.4f", b / (t * 1000) }')")
		done
		awk -v k="$kbps" -v m="$(median "${rs[@]}")" -v runs="${rs[*]}" -v w="${IPERF_EXTRA[*]}" 'BEGIN {
			n = split(runs, r, " "); lo = r[1]; hi = r[1]; bad = 0
			for (i = 1; i <= n; i++) { if (r[i] < lo) lo = r[i]; if (r[i] > hi) hi = r[i]; if (r[i] < 0.99 || r[i] > 1.01) bad++ }
			printf "sssonector-limiter %g Mbit/s: %.4f ratio median, spread %.4f..%.4f (runs: %s; iperf3 %s) (goal every run within +-1%%: %s)\n",
				k / 1000, m, lo, hi, runs, w, bad ? "MISS, " bad " of " n " outside" : "ok" }'
	done
	stop_all
	note "peers.sh accuracy anchors (10 Mbit/s; tbf exact = 0.956, OpenVPN shaper exact ~0.93)"
	peers_run accuracy tc-tbf-accuracy,openvpn-shaper-accuracy
	for v in tc-tbf-accuracy openvpn-shaper-accuracy; do
		grep -E "^$v:" "$TMP/peers-accuracy.out" || echo "$v: FAILED (peers.sh gave no line)"
	done
}

sec_ratechange() {
	local lo=1000 hi=50000 i n secs ms dir
	echo "# 3. rate change: commit (result=applied) -> new rate at the receiver, ${lo} <-> ${hi} kbit/s, $CHANGES changes each way (20 ms window, bytes sampled per read)"
	fwd_up true "$lo"
	secs=$((CHANGES * 2 + 10))
	spawn sink "" "$PROBE" sink "$P_TARGET" "$TMP/samples" $((secs + 10))
	local sink=$SPAWNED_PID
	wait_for "the sink's listener" "$READY_TIMEOUT" listening "" "$P_TARGET"
	spawn source "" "$PROBE" source 127.0.0.1 "$P_PLAIN" "$secs"
	local source=$SPAWNED_PID
	sleep 1.5
	: >"$TMP/changes"
	for ((i = 1; i <= CHANGES; i++)); do
		fwd_client_set true "$hi"
		n=$(applied_count "$FWD_C_LOG")
		ms=$(applied_ms "$FWD_C_LOG" "$n")
		echo "$ms up $lo $hi" >>"$TMP/changes"
		sleep 0.5
		fwd_client_set true "$lo"
		n=$(applied_count "$FWD_C_LOG")
		ms=$(applied_ms "$FWD_C_LOG" "$n")
		echo "$ms down $hi $lo" >>"$TMP/changes"
		sleep 0.8
	done
	# drain fast, then end the stream so the sink writes its samples
	fwd_client_set false "$lo"
	n=$(applied_count "$FWD_C_LOG")
	ms=$(applied_ms "$FWD_C_LOG" "$n")
	echo "$ms end 0 0" >>"$TMP/changes" # the last change's window ends here
	stop_pid "$source"
	wait_for "the sink to finish" 15 not_alive "$sink"
	[[ -s $TMP/samples ]] || die "the sink wrote no samples"
	awk -v W=20000 '
		FNR == NR { T[++nc] = $1 * 1000; dir[nc] = $2; old[nc] = $3; new[nc] = $4; next }
		{ t[++ns] = $1; c[ns] = $2 }
		function before(x,   j) { # cumulative bytes at time x (last sample <= x)
			while (p < ns && t[p + 1] <= x) p++
			return p ? c[p] : 0
		}
		END {
			for (k = 1; k < nc; k++) { # the last line only ends the one before
				end_t = T[k + 1]
				# the sliding-window rate crosses half of the higher rate
				thr = 0.5 * (dir[k] == "up" ? new[k] : old[k]) * 1000 / 8 * W / 1e6
				lat = ""; p = 0
				for (i = 1; i <= ns && t[i] < end_t; i++) {
					if (t[i] < T[k]) continue
					if (c[i] - before(t[i] - W) >= thr) {
						if (dir[k] == "up") { lat = (t[i] - T[k]) / 1000; break }
						lat = (t[i] - T[k]) / 1000 # down: the last window still at the old rate
					}
				}
				if (dir[k] == "down" && lat == "") lat = 0
				if (lat == "") lat = "none"
				print dir[k], lat
			}
		}' "$TMP/changes" "$TMP/samples" >"$TMP/latencies"
	for dir in up down; do
		local vals miss what
		vals=$(awk -v d="$dir" '$1 == d && $2 != "none" { print $2 }' "$TMP/latencies" | sort -g | tr '\n' ' ')
		miss=$(awk -v d="$dir" '$1 == d && $2 == "none"' "$TMP/latencies" | wc -l)
		if [[ $dir == up ]]; then
			what="$((lo / 1000)) -> $((hi / 1000)) Mbit/s, until the receiver gets >= half the new rate"
		else
			what="$((hi / 1000)) -> $((lo / 1000)) Mbit/s, until the receiver stops getting >= half the old rate"
		fi
		if [[ -z $vals ]]; then
			echo "rate-change-$dir: FAILED (the new rate was never seen)"
			continue
		fi
		# shellcheck disable=SC2086
		awk -v d="$dir" -v vals="$vals" -v miss="$miss" -v what="$what" -v p50="$(median $vals)" 'BEGIN {
			n = split(vals, v, " "); all = ""
			for (i = 1; i <= n; i++) all = all sprintf(" %.0f", v[i])
			printf "rate-change-%s: p50 %.0f ms, max %.0f ms, n=%d%s (%s; sorted:%s) (goal <= 100 ms: %s)\n",
				d, p50, v[n], n, miss ? ", " miss " never reached" : "", what, all, (v[n] <= 100 && !miss) ? "ok" : "MISS" }'
	done
}

sec_stall() {
	local rt=""
	if [[ $STALL_RT == 1 ]]; then
		# both daemons and both probes at SCHED_FIFO priority 20, to tell the
		# tunnel's own stalls from a busy machine's scheduling delays
		SPAWN_PREFIX=(chrt -f 20)
		rt=", daemons and probes at SCHED_FIFO priority 20"
	fi
	echo "# 4. stall: a 24-byte probe every 1 ms through forward for ${STALL_SECONDS}s (throttle on, 20000/30000 kbit/s), inter-arrival gaps at the receiver$rt"
	local k n_rot=$((STALL_SECONDS * 5 / 2 + 2)) run out
	fwd_up true 20000
	# server certificates for the rotations: same key, new serial, signed by the test CA
	mkdir -p "$TMP/rot"
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" "subjectAltName=DNS:sssonector-server,DNS:localhost,IP:127.0.0.1" >"$TMP/rot/ext"
	openssl req -new -key "$PKI/server.key" -subj "/CN=sssonector-server" -out "$TMP/rot/csr" 2>/dev/null
	for ((k = 1; k <= n_rot; k++)); do
		openssl x509 -req -in "$TMP/rot/csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 2 -sha256 -extfile "$TMP/rot/ext" \
			-out "$TMP/rot/server-$k.crt" 2>/dev/null || die "openssl x509 (rotation certificate)"
	done
	for run in quiet reloads; do
		local s0 c0 closes0
		s0=$(applied_count "$FWD_S_LOG") c0=$(applied_count "$FWD_C_LOG")
		closes0=$(cat "$FWD_S_LOG" "$FWD_C_LOG" | grep 'event=session_close' | grep -vc 'reason=done' || true)
		spawn "recv-$run" "" "$PROBE" recv "$P_TARGET" $((STALL_SECONDS + 15))
		local recv=$SPAWNED_PID recv_log=$SPAWNED_LOG
		wait_for "the probe receiver's listener" "$READY_TIMEOUT" listening "" "$P_TARGET"
		spawn "send-$run" "" "$PROBE" send 127.0.0.1 "$P_PLAIN" 1000 "$STALL_SECONDS"
		local send=$SPAWNED_PID
		local nr=0 nc=0
		if [[ $run == reloads ]]; then
			sleep 0.5
			local end=$((SECONDS + STALL_SECONDS - 2)) rate=20000 sn=$s0 cn=$c0 i=0
			while ((SECONDS < end)); do
				i=$((i + 1))
				if ((i % 2)); then
					rate=$((rate == 20000 ? 30000 : 20000))
					fwd_client_conf "$FWD_C_CONF" "$P_TLS" "$P_PLAIN" true "$rate"
					cn=$((cn + 1))
					wait_applied "$FWD_C_LOG" "$cn"
					nr=$((nr + 1))
				else
					nc=$((nc + 1))
					((nc <= n_rot)) || break
					cat "$TMP/rot/server-$nc.crt" >"$PKI/server.crt" # in place, like t_resign_server_cert
					sn=$((sn + 1))
					wait_applied "$FWD_S_LOG" "$sn"
				fi
				sleep 0.2
			done
		fi
		wait_for "the probe sender to finish" $((STALL_SECONDS + 10)) not_alive "$send"
		wait_for "the probe receiver to finish" 10 not_alive "$recv"
		out=$(grep -m1 '^n=' "$recv_log" || true)
		[[ -n $out ]] || die "probe recv gave no result: $(tail -n 2 "$recv_log" | tr '\n' ' ')"
		local closes
		closes=$(cat "$FWD_S_LOG" "$FWD_C_LOG" | grep 'event=session_close' | grep -vc 'reason=done' || true)
		local what="no reloads"
		if [[ $run == reloads ]]; then
			local near
			# the reload nearest before the largest gap's end
			near=$(awk -v e="$(sed -n 's/.*max_gap_end_ms=\([0-9]*\).*/\1/p' <<<"$out")" '
				/result=applied/ { ts = $1; sub(/^ts=/, "", ts); cmd = "date -d " ts " +%s%3N"; cmd | getline ms; close(cmd)
					if (ms <= e && (best == "" || ms > best)) { best = ms; line = FILENAME } }
				END { if (best != "") printf "%d ms after a reload of the %s", e - best, line ~ /server/ ? "server (certificate)" : "client (rate)" }' \
				"$FWD_S_LOG" "$FWD_C_LOG")
			what="$nr client rate changes + $nc server certificate rotations, all applied; largest gap ended ${near:-?}"
		fi
		awk -v run="$run${rt:+-rt}" -v what="$what" -v drop="$((closes - closes0))" '{
			for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			printf "stall-%s: largest gap %.1f ms, p99 gap %.2f ms, p50 %.2f ms, gaps > 5 ms: %d of %d (goal largest <= 5 ms: %s); tunnel delay p50 %.2f p99 %.2f max %.1f ms; sender late max %.1f ms; lost %d; sessions closed other than at the end: %d (%s)\n",
				run, v["gap_max_us"] / 1000, v["gap_p99_us"] / 1000, v["gap_p50_us"] / 1000, v["gaps_over_5ms"], v["n"],
				v["gap_max_us"] <= 5000 ? "ok" : "MISS", v["delay_p50_us"] / 1000, v["delay_p99_us"] / 1000,
				v["delay_max_us"] / 1000, v["send_late_max_us"] / 1000, v["lost"], drop, what }' <<<"$out"
	done
	# what the reloads cost in the engine (the audit lines' duration_us)
	for who in server client; do
		local log=$FWD_S_LOG
		[[ $who == client ]] && log=$FWD_C_LOG
		grep 'result=applied' "$log" | sed -n '2,$s/.*duration_us=\([0-9]*\).*/\1/p' | sort -n |
			awk -v w="$who" '{ v[NR] = $1 } END { if (NR) printf "#   reload duration_us (%s, %s): p50 %d max %d n=%d\n", w,
				w == "server" ? "certificate rotations" : "rate changes", v[int((NR + 1) / 2)], v[NR], NR }' >&2
	done
}

sec_stallrt() {
	if ((!IS_ROOT)) || ! command -v chrt >/dev/null; then die "needs root and chrt (util-linux)"; fi
	STALL_RT=1
	sec_stall
}

sec_apply() {
	echo "# 5. apply time in process: $RELOADS reloads of tunnel.upload_kbps (bench_apply), with and without the tunnel component live"
	local p q
	read -r p q <<<"$(free_ports 2)"
	conf "$TMP/apply.conf" 'mode = "server";' 'transport = "forward";' \
		"tunnel = {" "  listen = \"127.0.0.1:$p\";" "  cert_file = \"$PKI/server.crt\";" \
		"  key_file = \"$PKI/server.key\";" "  ca_file = \"$PKI/ca.crt\";" "  upload_kbps = 1000;" "};" \
		'throttle = { enabled = true; };' "forward = { target = \"127.0.0.1:$q\"; };" "${COMMON[@]}"
	local out
	out=$(timeout 300 "$APPLY" "$TMP/apply.conf" "$RELOADS" --tunnel) || die "bench_apply --tunnel failed: $out"
	awk '/^apply_us/ { split($3, a, "="); printf "apply-tunnel: %s (goal p99 <= 1000 us: %s)\n", $0, a[2] <= 1000 ? "ok" : "MISS"; next }
		{ print "apply-tunnel: " $0 }' <<<"$out"
	out=$(timeout 300 "$APPLY" "$TMP/apply.conf" "$RELOADS") || die "bench_apply failed: $out"
	awk '/^apply_us/ { print "apply-core (engine + watch only, same run): " $0 }' <<<"$out"
	if ((IS_ROOT)) && command -v chrt >/dev/null; then
		# the same at real-time priority: what is left without the machine's other load
		out=$(timeout 300 chrt -f 20 "$APPLY" "$TMP/apply.conf" "$RELOADS" --tunnel) || die "bench_apply --tunnel (chrt) failed: $out"
		awk '/^apply_us/ { split($3, a, "="); printf "apply-tunnel-rt (SCHED_FIFO 20): %s (goal p99 <= 1000 us: %s)\n", $0, a[2] <= 1000 ? "ok" : "MISS" }' <<<"$out"
	fi
}

# The sections about many connections (connrate, memory).
# shellcheck source=bench/tunnel_scale.sh
. "$top/bench/tunnel_scale.sh"

# --------------------------------------------------------------------------
# Main: each section in its own subshell (errexit), then everything it
# started is stopped
# --------------------------------------------------------------------------
t_start=$SECONDS
for sec in "${SELECTED[@]}"; do
	: >"$TMP/reason"
	t0=$SECONDS
	SECTION=$sec
	(
		set -eE
		"sec_$sec"
	) &
	SEC_PID=$!
	rc=0
	wait "$SEC_PID" || rc=$?
	SEC_PID=""
	stop_all
	del_netns
	if ((rc != 0)); then
		echo "$sec: FAILED ($(cat "$TMP/reason" 2>/dev/null || true))"
		[[ -s $TMP/reason ]] || echo "$sec: exit status $rc"
	fi
	note "section $sec took $((SECONDS - t0))s; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
done
note "done in $((SECONDS - t_start))s"
