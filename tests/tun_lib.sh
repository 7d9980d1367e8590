# SPDX-License-Identifier: MIT
# tun_lib.sh - helpers for the `tun` transport tests (sourced after lib.sh).
#
# The tests build their own network namespaces (names carry the test's PID,
# so parallel runs do not meet), join them with veth pairs, start daemons
# inside them and delete the namespaces at exit.  Addresses exist only
# inside those namespaces: 10.203.0.0/24 for the veth links, 10.204.0.0/24
# for the tunnel, 10.205.0.0/24 as "some other subnet".  Every process is
# recorded in T_PIDS and stopped by PID (lib.sh's t_cleanup); nothing here
# signals by name or touches the host's own interfaces.
#
# Variables a test may read after tun_setup_ns:
#   NS_A NS_B NS_C   namespace names (server, client, extra clients)
#   ADDR_A ADDR_B    the ends of the A-B veth (A-C: ADDR_A_C, ADDR_C)
#   TUN_PORT         the port the server listens on (inside A)

TUN_NETNS=
declare -A TUN_PID TUN_LOG TUN_CONF

# tun_require: skip (77) unless this can run: root, /dev/net/tun, a
# working `ip netns`, and the tools the tests drive.
tun_require() {
	local c
	[ "$(id -u)" = 0 ] || t_skip "needs root (network namespaces and TUN devices)"
	t_full_suite_only "network namespaces"
	[ -c /dev/net/tun ] || t_skip "no /dev/net/tun"
	for c in ip ping socat openssl sha256sum ss timeout od; do
		command -v "$c" >/dev/null 2>&1 || t_skip "$c not installed"
	done
	local probe=sssprobe-$$
	ip netns add "$probe" 2>/dev/null || t_skip "ip netns add fails (no CAP_SYS_ADMIN or no netns support)"
	ip netns del "$probe" 2>/dev/null
}

tun_cleanup() {
	local ns
	t_cleanup
	for ns in $TUN_NETNS; do
		ip netns del "$ns" 2>/dev/null
	done
}

# tun_ns NAME...: make namespaces (lo up), deleted at exit.
tun_ns() {
	local ns
	for ns in "$@"; do
		ip netns add "$ns" || t_fail "ip netns add $ns"
		TUN_NETNS="$TUN_NETNS $ns"
		ip -n "$ns" link set lo up || t_fail "lo up in $ns"
	done
}

# tun_veth NS1 CIDR1 NS2 CIDR2: a veth pair between two namespaces.
tun_veth() {
	local n1=$1 a1=$2 n2=$3 a2=$4 tmp=sv$$x$RANDOM
	ip link add "${tmp}a" netns "$n1" type veth peer name "${tmp}b" netns "$n2" ||
		t_fail "ip link add veth $n1 <-> $n2"
	ip -n "$n1" link set "${tmp}a" name "v${n2%%-*}" || t_fail "veth rename in $n1"
	ip -n "$n2" link set "${tmp}b" name "v${n1%%-*}" || t_fail "veth rename in $n2"
	ip -n "$n1" addr add "$a1" dev "v${n2%%-*}" || t_fail "veth address in $n1"
	ip -n "$n2" addr add "$a2" dev "v${n1%%-*}" || t_fail "veth address in $n2"
	ip -n "$n1" link set "v${n2%%-*}" up || t_fail "veth up in $n1"
	ip -n "$n2" link set "v${n1%%-*}" up || t_fail "veth up in $n2"
}

# tun_setup_ns [with_c]: namespaces A (server) and B (client) joined by a
# veth, and with "with_c" a third one, C, on its own veth to A with a route
# to A's A-B address (so every client dials the same tunnel.listen).
tun_setup_ns() {
	NS_A=sssA-$$ NS_B=sssB-$$ NS_C=sssC-$$
	ADDR_A=10.203.0.1 ADDR_B=10.203.0.2 ADDR_A_C=10.203.0.5 ADDR_C=10.203.0.6
	TUN_PORT=4433
	trap tun_cleanup EXIT
	tun_ns "$NS_A" "$NS_B"
	tun_veth "$NS_A" "$ADDR_A/30" "$NS_B" "$ADDR_B/30"
	if [ "${1:-}" = with_c ]; then
		tun_ns "$NS_C"
		tun_veth "$NS_A" "$ADDR_A_C/30" "$NS_C" "$ADDR_C/30"
		ip -n "$NS_C" route add "$ADDR_A/32" via "$ADDR_A_C" || t_fail "route in $NS_C"
	fi
}

# tun_server_conf FILE [SET...]: a tun server in A on sssA0, 10.204.0.1/24.
tun_server_conf() {
	local f=$1
	shift
	t_conf "$f" 'transport="tun"' -forward.target "tunnel.listen=\"$ADDR_A:$TUN_PORT\"" \
		'network.interface="sssA0"' 'network.address="10.204.0.1/24"' 'network.mtu=1500' \
		'tunnel.keepalive_s=5' "$@"
}

# tun_client_conf FILE IFNAME CIDR [SET...]: a tun client dialling A's
# listener with the client certificate.
tun_client_conf() {
	local f=$1 ifname=$2 cidr=$3
	shift 3
	t_conf "$f" 'mode="client"' 'transport="tun"' -tunnel.listen -forward.target \
		"tunnel.server=\"$ADDR_A:$TUN_PORT\"" 'tunnel.server_name="sssonector-server"' \
		'tunnel.cert_file="@PKI@/client.crt"' 'tunnel.key_file="@PKI@/client.key"' \
		"network.interface=\"$ifname\"" "network.address=\"$cidr\"" 'tunnel.keepalive_s=5' "$@"
}

# tun_start NS NAME CONF: lib.sh's t_start, inside namespace NS, log
# $T_DIR/NAME.log; remembers the daemon under NAME (see tun_use).
tun_start() {
	local ns=$1 name=$2 conf=$3 wrap=$T_DIR/in-$1
	if [ ! -x "$wrap" ]; then
		# `ip netns exec` execs (no fork), so $! stays the daemon's PID.
		printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$ns" "$SSSONECTOR" >"$wrap"
		chmod 0700 "$wrap"
	fi
	SSSONECTOR=$wrap T_START_NAME=$name t_start "$conf"
	TUN_PID[$name]=$T_PID
	TUN_LOG[$name]=$T_LOG
	TUN_CONF[$name]=$conf
}

# tun_use NAME: make NAME's daemon the current one (T_PID, T_LOG, T_CONF)
# for lib.sh's t_wait_log, t_count, t_stop, t_assert_alive.
tun_use() {
	T_PID=${TUN_PID[$1]}
	T_LOG=${TUN_LOG[$1]}
	# shellcheck disable=SC2034 # read by lib.sh
	T_CONF=${TUN_CONF[$1]}
}

# tun_count NAME PATTERN: lines of NAME's log matching the ERE.
tun_count() { t_count "$2" "${TUN_LOG[$1]}"; }

# tun_stop NAME: stop NAME's daemon with SIGTERM; exit 0 and event=stop.
tun_stop() {
	tun_use "$1"
	t_stop
}

# tun_ping NS DST [SECONDS] [PING-ARGS...]: wait until one ping from NS to
# DST is answered (each try waits at most 1 s); fail after SECONDS (T_TIMEOUT).
tun_ping() {
	local ns=$1 dst=$2 limit=${3:-$T_TIMEOUT}
	shift 2
	[ $# -gt 0 ] && shift
	local deadline=$(($(t_now_ms) + limit * 1000))
	until ip netns exec "$ns" ping -n -q -c 1 -W 1 "$@" "$dst" >"$T_DIR/ping.out" 2>&1; do
		if [ "$(t_now_ms)" -ge "$deadline" ]; then
			cat "$T_DIR/ping.out" >&2
			t_fail "no answer to ping${*:+ $*} $dst from $ns within ${limit}s"
		fi
	done
}

# tun_no_ping NS DST [PING-ARGS...]: three pings from NS to DST, none answered.
tun_no_ping() {
	local ns=$1 dst=$2
	shift 2
	if ip netns exec "$ns" ping -n -q -c 3 -i 0.3 -W 1 "$@" "$dst" >"$T_DIR/ping.out" 2>&1; then
		cat "$T_DIR/ping.out" >&2
		t_fail "ping${*:+ $*} $dst from $ns was answered"
	fi
}

# tun_wait_listen NS PORT [ADDR]: wait until a TCP socket listens on PORT in NS.
tun_wait_listen() {
	local ns=$1 port=$2 deadline=$(($(t_now_ms) + T_TIMEOUT * 1000))
	until ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q LISTEN; do
		[ "$(t_now_ms)" -lt "$deadline" ] || t_fail "nothing listens on port $port in $ns within ${T_TIMEOUT}s"
		sleep 0.02
	done
}

# tun_bg NS LOG CMD...: run CMD in NS in the background (stdout+stderr to
# LOG), recorded for cleanup; its PID in TUN_BG.
tun_bg() {
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
	TUN_BG=$!
	T_PIDS="$T_PIDS $TUN_BG"
}

# tun_wait_pid PID LIMIT WHAT: wait for a background helper to exit (fail
# after LIMIT seconds) and return its status in TUN_RC.
tun_wait_pid() {
	t_wait_exit "$1" "$2" || t_fail "$3 did not finish within $2s"
	wait "$1"
	# shellcheck disable=SC2034 # read by the tests
	TUN_RC=$?
}
