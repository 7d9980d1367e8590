#!/bin/bash
# SPDX-License-Identifier: MIT
# bench/attack.sh - what an attacker without a certificate costs the data
# plane, next to stunnel measured the same way in the same run.  Not a
# test: it prints figures and ratios (see bench/README.md).
#
#   1. pending: a legitimate client's connect + TLS + echo time through a
#      forward pair, quiet and while 500 idle TCP connections are held
#      against the server's TLS port (from another source address, then
#      from the clients' own); ROUNDS clients one after the other each time
#   2. stall: the largest gap of a 24-byte record sent every 1 ms through
#      an established forward stream, quiet and during a flood of
#      ClientHellos at FLOOD_RATE/s valid (X25519) plus FLOOD_RATE/s of
#      garbage against the server's TLS port (goal: largest gap <= 20 ms)
#   3. rss: the daemons' resident memory for IDLE_STREAMS idle forwarded
#      streams, in KiB per stream
#
# usage: bench/attack.sh [--only SECTION[,SECTION...]]   (pending, stall, rss)
# Environment: ROUNDS (30) STALL_SECONDS (8) FLOOD_RATE (200) IDLE_STREAMS (1000)
#   BENCH_BUILD (build-bench) BENCH_KEEP=1 keeps the temp dir.
# Everything on 127.0.0.x; every process started here is stopped by PID
# (its own process group) at the end of each section and on exit.  Installs
# stunnel4 with apt-get when it is missing (as ../shared/bench/peers.sh does).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
top=$PWD

ROUNDS=${ROUNDS:-30}
STALL_SECONDS=${STALL_SECONDS:-8}
FLOOD_RATE=${FLOOD_RATE:-200}
IDLE_STREAMS=${IDLE_STREAMS:-1000}
BENCH_BUILD=${BENCH_BUILD:-build-bench}
BENCH_KEEP=${BENCH_KEEP:-0}
SECTIONS=(pending stall rss)
ONLY=""
while (($#)); do
	case $1 in
	--only) ONLY=$2; shift 2 ;;
	--only=*) ONLY=${1#*=}; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
done
SELECTED=("${SECTIONS[@]}")
[[ -z $ONLY ]] || IFS=, read -ra SELECTED <<<"$ONLY"

note() { printf '# %s\n' "$*" >&2; }

# ---- build, tools, PKI ---------------------------------------------------------------
for c in socat ss openssl; do command -v "$c" >/dev/null || { echo "$c is not installed" >&2; exit 1; }; done
if ! command -v stunnel4 >/dev/null && ! command -v stunnel >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends stunnel4 >/dev/null ||
		{ echo "cannot install stunnel4" >&2; exit 1; }
fi
STUNNEL=$(command -v stunnel4 || command -v stunnel)
# stunnel in the foreground logs to stderr and to syslog as well, and with no
# syslog daemon (these machines) glibc writes every line to the console:
# milliseconds per connection.  Debian's build also asks libwrap about every
# connection and leaves Nagle on.  Ours and HAProxy do none of this, so
# stunnel is measured without them.
STUNNEL_TUNING=('syslog = no' 'libwrap = no' 'socket = l:TCP_NODELAY=1' 'socket = r:TCP_NODELAY=1')
[[ -x configure ]] || autoreconf -fi >/dev/null
mkdir -p "$BENCH_BUILD"
(cd "$BENCH_BUILD" && { [[ -f Makefile ]] || "$top/configure" >/dev/null; } && make -j"$(nproc)" >/dev/null &&
	make bench >/dev/null) || { echo "build failed in $BENCH_BUILD" >&2; exit 1; }
B=$top/$BENCH_BUILD
[[ $BENCH_BUILD == /* ]] && B=$BENCH_BUILD
BIN=$B/sssonector PROBE=$B/bench/probe TOOL=$B/tests/peer_tool
TMP=$(mktemp -d "${TMPDIR:-/tmp}/attack-bench.XXXXXX")
chmod 700 "$TMP"
sh scripts/mkpki.sh "$TMP/pki" >"$TMP/mkpki.log" 2>&1 || { cat "$TMP/mkpki.log" >&2; exit 1; }
PKI=$TMP/pki
ulimit -n "$(ulimit -Hn)"

PIDS=()
spawn() { # spawn NAME CMD...: own process group, log $TMP/NAME.log; SPAWNED
	local name=$1
	shift
	setsid "$@" </dev/null >"$TMP/$name.log" 2>&1 &
	SPAWNED=$!
	PIDS+=("$SPAWNED")
}
stop_all() {
	local p i
	for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for ((i = 0; i < 60; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL -- "-$p" 2>/dev/null || true
	done
	PIDS=()
}
cleanup() {
	stop_all
	if [[ $BENCH_KEEP == 1 ]]; then note "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # wait_for WHAT SECONDS CMD...
	local what=$1 end=$((SECONDS + $2))
	shift 2
	until "$@"; do
		((SECONDS < end)) || { echo "timed out waiting for $what" >&2; exit 1; }
		sleep 0.02
	done
}
listening() { [[ -n $(ss -Htln "sport = :$1" 2>/dev/null) ]]; }
free_port() { local p; while :; do p=$((20000 + RANDOM % 12000)); listening "$p" || { echo "$p"; return; }; done; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
cpu_note() { note "load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"; }

# ---- the two tunnels ---------------------------------------------------------------------
# up KIND TARGET_PORT [EXTRA...]: a forward pair (sssonector or stunnel) to
# 127.0.0.1:TARGET_PORT; sets TLS (the server's TLS port), PLAIN (the
# client's listener), SRV (server PID), CLI (client PID).
up() {
	local kind=$1 target=$2
	TLS=$(free_port) PLAIN=$(free_port)
	if [[ $kind == sssonector ]]; then
		printf '%s\n' 'mode = "server";' \
			"tunnel = { listen = \"127.0.0.1:$TLS\"; cert_file = \"$PKI/server.crt\"; key_file = \"$PKI/server.key\";" \
			"  ca_file = \"$PKI/ca.crt\"; max_pending = 4096; };" \
			"forward = { target = \"127.0.0.1:$target\"; max_streams = 4096; };" \
			'monitor = { snmp_enabled = false; };' "reload = { state_dir = \"$TMP/state\"; };" >"$TMP/s.conf"
		printf '%s\n' 'mode = "client";' \
			"tunnel = { server = \"127.0.0.1:$TLS\"; server_name = \"sssonector-server\"; cert_file = \"$PKI/client.crt\";" \
			"  key_file = \"$PKI/client.key\"; ca_file = \"$PKI/ca.crt\"; max_pending = 4096; };" \
			"forward = { listen = \"127.0.0.1:$PLAIN\"; max_streams = 4096; };" \
			'monitor = { snmp_enabled = false; };' "reload = { state_dir = \"$TMP/state\"; };" >"$TMP/c.conf"
		chmod 600 "$TMP/s.conf" "$TMP/c.conf"
		spawn sss-server "$BIN" -c "$TMP/s.conf"
		SRV=$SPAWNED
		spawn sss-client "$BIN" -c "$TMP/c.conf"
		CLI=$SPAWNED
	else
		printf '%s\n' 'foreground = yes' 'pid =' 'debug = notice' "${STUNNEL_TUNING[@]}" '[in]' "accept = 127.0.0.1:$TLS" \
			"connect = 127.0.0.1:$target" "cert = $PKI/server.crt" "key = $PKI/server.key" "CAfile = $PKI/ca.crt" \
			'requireCert = yes' 'verifyChain = yes' 'sslVersionMin = TLSv1.3' >"$TMP/stunnel-s.conf"
		printf '%s\n' 'foreground = yes' 'pid =' 'debug = notice' "${STUNNEL_TUNING[@]}" '[out]' 'client = yes' "accept = 127.0.0.1:$PLAIN" \
			"connect = 127.0.0.1:$TLS" "cert = $PKI/client.crt" "key = $PKI/client.key" "CAfile = $PKI/ca.crt" \
			'verifyChain = yes' 'checkHost = sssonector-server' 'sslVersionMin = TLSv1.3' >"$TMP/stunnel-c.conf"
		spawn stunnel-server "$STUNNEL" "$TMP/stunnel-s.conf"
		SRV=$SPAWNED
		spawn stunnel-client "$STUNNEL" "$TMP/stunnel-c.conf"
		CLI=$SPAWNED
	fi
	wait_for "$kind's server" 10 listening "$TLS"
	wait_for "$kind's client" 10 listening "$PLAIN"
}

# ---- 1. pending --------------------------------------------------------------------------
# clients PORT: ROUNDS clients one after the other; prints "p50 max ok".
clients() {
	local i t0 t1 out ok=0 msg
	local -a ms=()
	for ((i = 1; i <= ROUNDS; i++)); do
		msg="c$i-$RANDOM"
		t0=${EPOCHREALTIME/./}
		out=$(printf '%s\n' "$msg" | timeout 10 socat -t 10 - "TCP:127.0.0.1:$1" 2>/dev/null || true)
		t1=${EPOCHREALTIME/./}
		[[ $out == "$msg" ]] && ok=$((ok + 1))
		ms+=("$(((t1 - t0) / 1000))")
	done
	printf '%s\n' "${ms[@]}" | sort -n | awk -v ok="$ok" -v n="$ROUNDS" '{ v[NR] = $1 }
		END { printf "%d %d %d/%d", v[int((NR + 1) / 2)], v[NR], ok, n }'
}

sec_pending() {
	echo "# 1. pending: connect + TLS + echo of $ROUNDS legitimate clients, one after the other (ms)"
	cpu_note
	local echo_port kind src r
	declare -A p50
	echo_port=$(free_port)
	spawn echo socat "TCP-LISTEN:$echo_port,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
	wait_for "the echo" 10 listening "$echo_port"
	for kind in sssonector stunnel; do
		up "$kind" "$echo_port"
		read -r a b c <<<"$(clients "$PLAIN")"
		echo "pending-quiet $kind: p50 $a ms, max $b ms, $c got their echo"
		for src in 127.0.0.2 127.0.0.1; do
			spawn "hold-$kind-$src" "$TOOL" hold 127.0.0.1 "$TLS" 500 "$src"
			local h=$SPAWNED
			wait_for "500 idle connections" 15 grep -qs '^held ' "$TMP/hold-$kind-$src.log"
			read -r a b c <<<"$(clients "$PLAIN")"
			echo "pending-500idle-from-$src $kind: p50 $a ms, max $b ms, $c got their echo"
			p50[$kind-$src]=$a
			kill -TERM -- "-$h" 2>/dev/null || true
		done
		stop_all
		spawn echo socat "TCP-LISTEN:$echo_port,bind=127.0.0.1,reuseaddr,fork" EXEC:cat
		wait_for "the echo" 10 listening "$echo_port"
	done
	for src in 127.0.0.2 127.0.0.1; do
		r=$(awk -v a="${p50[sssonector-$src]}" -v b="${p50[stunnel-$src]}" 'BEGIN { printf (b > 0 ? "%.2f" : "n/a"), a / (b > 0 ? b : 1) }')
		echo "ratio pending-500idle-from-$src p50 sssonector/stunnel: $r (lower is better)"
	done
	stop_all
}

# ---- 2. stall ------------------------------------------------------------------------------
# stall KIND FLOOD(0|1): prints probe recv's line.
stall() {
	local kind=$1 flood=$2 recv_port
	recv_port=$(free_port)
	spawn "recv-$kind-$flood" "$PROBE" recv "$recv_port" $((STALL_SECONDS + 10))
	wait_for "the probe receiver" 10 listening "$recv_port"
	up "$kind" "$recv_port"
	if ((flood)); then
		spawn "flood-hello-$kind" "$TOOL" flood 127.0.0.1 "$TLS" "$FLOOD_RATE" $((STALL_SECONDS + 1)) hello
		spawn "flood-garbage-$kind" "$TOOL" flood 127.0.0.1 "$TLS" "$FLOOD_RATE" $((STALL_SECONDS + 1)) garbage
	fi
	"$PROBE" send 127.0.0.1 "$PLAIN" 1000 "$STALL_SECONDS" >"$TMP/send-$kind-$flood.log" 2>&1 || true
	wait_for "the probe receiver's figures" $((STALL_SECONDS + 15)) grep -qs 'gap_max_us=' "$TMP/recv-$kind-$flood.log"
	grep 'gap_max_us=' "$TMP/recv-$kind-$flood.log"
	if ((flood)); then
		wait_for "the floods' counts" 10 grep -qs '^sent' "$TMP/flood-hello-$kind.log"
		wait_for "the floods' counts" 10 grep -qs '^sent' "$TMP/flood-garbage-$kind.log"
		printf 'hello: %s; garbage: %s' "$(cat "$TMP/flood-hello-$kind.log")" "$(cat "$TMP/flood-garbage-$kind.log")" \
			>"$TMP/flood-$kind.sum"
	fi
	stop_all
}

sec_stall() {
	echo "# 2. stall: a 24-byte record every 1 ms through an established forward stream for ${STALL_SECONDS}s, quiet and while ${FLOOD_RATE}/s valid + ${FLOOD_RATE}/s garbage ClientHellos hit the server (goal: largest gap <= 20 ms)"
	cpu_note
	local kind flood line max p99
	declare -A gap
	for kind in sssonector stunnel; do
		for flood in 0 1; do
			line=$(stall "$kind" "$flood")
			max=$(sed -n 's/.*gap_max_us=\([0-9]*\).*/\1/p' <<<"$line")
			p99=$(sed -n 's/.*gap_p99_us=\([0-9]*\).*/\1/p' <<<"$line")
			local what=quiet g=""
			if ((flood)); then
				what=flood
				g=" (goal <= 20 ms: $(awk -v m="$max" 'BEGIN { print m <= 20000 ? "ok" : "MISS" }')); flood: $(cat "$TMP/flood-$kind.sum" 2>/dev/null)"
			fi
			echo "stall-$what $kind: largest gap $(awk -v m="$max" 'BEGIN { printf "%.1f", m / 1000 }') ms, p99 $(awk -v m="$p99" 'BEGIN { printf "%.2f", m / 1000 }') ms$g ($line)"
			gap[$kind-$flood]=$max
		done
	done
	echo "ratio stall-flood largest gap sssonector/stunnel: $(awk -v a="${gap[sssonector-1]}" -v b="${gap[stunnel-1]}" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }') (lower is better)"
}

# ---- 3. rss --------------------------------------------------------------------------------
sec_rss() {
	echo "# 3. rss: resident memory of the two daemons for $IDLE_STREAMS idle forwarded streams"
	cpu_note
	local kind sink_port s0 c0 s1 c1
	declare -A per
	for kind in sssonector stunnel; do
		sink_port=$(free_port)
		spawn "sink-$kind" "$TOOL" sink "$sink_port" 600
		wait_for "the sink" 10 listening "$sink_port"
		up "$kind" "$sink_port"
		s0=$(rss_kib "$SRV") c0=$(rss_kib "$CLI")
		spawn "streams-$kind" "$TOOL" hold 127.0.0.1 "$PLAIN" "$IDLE_STREAMS"
		wait_for "$IDLE_STREAMS streams at the sink" 120 grep -qs "^accepted $IDLE_STREAMS\$" "$TMP/sink-$kind.log"
		s1=$(rss_kib "$SRV") c1=$(rss_kib "$CLI")
		per[$kind]=$(((s1 - s0 + c1 - c0) / IDLE_STREAMS))
		echo "rss-$IDLE_STREAMS-idle $kind: server $((s0 / 1024)) -> $((s1 / 1024)) MiB, client $((c0 / 1024)) -> $((c1 / 1024)) MiB, $(((s1 - s0 + c1 - c0) / IDLE_STREAMS)) KiB per stream (both ends)"
		stop_all
	done
	echo "ratio rss per idle stream sssonector/stunnel: $(awk -v a="${per[sssonector]}" -v b="${per[stunnel]}" 'BEGIN { printf "%.2f", a / (b > 0 ? b : 1) }') (lower is better)"
}

note "attack.sh: $(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo ?), $($STUNNEL -version 2>&1 | grep -o 'stunnel [0-9.]*' | head -n 1), $(openssl version | awk '{ print $1, $2 }'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
for s in "${SELECTED[@]}"; do
	"sec_$s"
done
