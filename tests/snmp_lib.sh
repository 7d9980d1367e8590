# SPDX-License-Identifier: MIT
# snmp_lib.sh - helpers for the SNMP integration tests (sourced after
# lib.sh): a private snmpd as AgentX master (its own config, loopback UDP
# port, AgentX socket and persistent directory under $T_DIR, -I -smux), a
# snmptrapd, the daemon as its subagent, and net-snmp client wrappers.
#
# Every service is started in the background, recorded in T_PIDS and
# stopped by PID at exit (lib.sh's t_cleanup).  Waits poll a condition
# with a bound (T_TIMEOUT); nothing sleeps to synchronise.  The client
# tools run with -r 0 so that a SET is never sent twice, and with no MIB
# files (numeric OIDs, -On).

S_ROOT=.1.3.6.1.4.1.54321
S_OBJ=$S_ROOT.1

s_need() {
	local c
	for c in snmpd snmpget snmpset snmpwalk "$@"; do
		command -v "$c" >/dev/null 2>&1 || t_skip "$c not installed (Debian: snmpd, snmp, snmptrapd)"
	done
}

# The client tools and snmpd read no MIB files.
export MIBS= MIBDIRS=/nonexistent

# s_udp_busy PORT: some UDP socket uses PORT.
s_udp_busy() {
	command -v ss >/dev/null 2>&1 || return 1
	[ -n "$(ss -Huan "sport = :$1" 2>/dev/null)" ]
}

# s_free_udp_port: a UDP port nobody uses now, not handed out before.
s_free_udp_port() {
	local i p used=$T_DIR/udp-ports
	for i in $(seq 1 500); do
		p=$((20000 + RANDOM % 12768))
		grep -qx "$p" "$used" 2>/dev/null && continue
		s_udp_busy "$p" && continue
		echo "$p" >>"$used"
		echo "$p"
		return 0
	done
	t_fail "no free UDP port found"
}

S_PORT=
S_SOCK=
S_SNMPD_PID=
S_TRAP_PORT=
S_TRAPD_PID=
S_V3_USER=sssadmin
S_V3_AUTH=auth-pass-phrase-1
S_V3_PRIV=priv-pass-phrase-1

# s_snmpd_conf: write $T_DIR/snmpd.conf (a private master agent with a
# v2c read community, a v2c write community for the tests, an SNMPv3
# authPriv user, and a trap2sink to our snmptrapd when S_TRAP_PORT is set).
s_snmpd_conf() {
	: "${S_PORT:=$(s_free_udp_port)}"
	S_SOCK=$T_DIR/agentx/master
	mkdir -p "$T_DIR/agentx" "$T_DIR/snmp-persist"
	chmod 0700 "$T_DIR/agentx" "$T_DIR/snmp-persist"
	{
		echo "master agentx"
		echo "agentXSocket $S_SOCK"
		echo "agentXPerms 0600 0700"
		echo "agentAddress udp:127.0.0.1:$S_PORT"
		echo "rocommunity public 127.0.0.1"
		echo "rwcommunity private 127.0.0.1"
		# The SNMPv3 template of snmpd.conf.d/sssonector.conf, uncommented.
		echo "createUser $S_V3_USER SHA-256 \"$S_V3_AUTH\" AES \"$S_V3_PRIV\""
		echo "view   sssonector  included .1.3.6.1.4.1.54321"
		echo "rwuser $S_V3_USER priv -V sssonector"
		[ -n "$S_TRAP_PORT" ] && echo "trap2sink 127.0.0.1:$S_TRAP_PORT public"
		# more lines a test needs (contexts, ...)
		[ -n "${S_SNMPD_EXTRA:-}" ] && printf '%s\n' "$S_SNMPD_EXTRA"
	} >"$T_DIR/snmpd.conf"
}

# s_snmpd_start: start the master (config written once) and wait until it
# answers on UDP and its AgentX socket exists.
s_snmpd_start() {
	[ -f "$T_DIR/snmpd.conf" ] || s_snmpd_conf
	rm -f "$S_SOCK"
	SNMP_PERSISTENT_DIR=$T_DIR/snmp-persist snmpd -f -C -c "$T_DIR/snmpd.conf" -I -smux \
		-Lf "$T_DIR/snmpd.log" -p "$T_DIR/snmpd.pid" </dev/null >/dev/null 2>&1 &
	S_SNMPD_PID=$!
	T_PIDS="$T_PIDS $S_SNMPD_PID"
	local deadline=$(($(t_now_ms) + T_TIMEOUT * 1000))
	until [ -S "$S_SOCK" ] && snmpget -v2c -c public -t 1 -r 0 "127.0.0.1:$S_PORT" .1.3.6.1.2.1.1.3.0 >/dev/null 2>&1; do
		t_alive "$S_SNMPD_PID" || { tail -n 20 "$T_DIR/snmpd.log" >&2; t_fail "snmpd exited"; }
		[ "$(t_now_ms)" -lt "$deadline" ] || t_fail "snmpd did not answer within ${T_TIMEOUT}s"
		sleep 0.05
	done
}

# s_snmpd_stop: stop the master by PID and wait for it.
s_snmpd_stop() {
	kill -TERM "$S_SNMPD_PID" 2>/dev/null
	kill -CONT "$S_SNMPD_PID" 2>/dev/null
	t_wait_exit "$S_SNMPD_PID" || t_fail "snmpd did not stop"
	wait "$S_SNMPD_PID" 2>/dev/null
}

# s_trapd_start: a snmptrapd on a private port writing $T_DIR/traps.log,
# one notification per line (call before s_snmpd_conf).
s_trapd_start() {
	command -v snmptrapd >/dev/null 2>&1 || t_skip "snmptrapd not installed (Debian: snmptrapd)"
	S_TRAP_PORT=$(s_free_udp_port)
	echo "disableAuthorization yes" >"$T_DIR/snmptrapd.conf"
	: >"$T_DIR/traps.log"
	snmptrapd -f -C -c "$T_DIR/snmptrapd.conf" -On -Lf "$T_DIR/traps.log" \
		-F 'TRAP %v\n' -p "$T_DIR/snmptrapd.pid" "udp:127.0.0.1:$S_TRAP_PORT" \
		</dev/null >/dev/null 2>&1 &
	S_TRAPD_PID=$!
	T_PIDS="$T_PIDS $S_TRAPD_PID"
	t_until "$T_TIMEOUT" "snmptrapd on udp $S_TRAP_PORT" s_udp_busy "$S_TRAP_PORT"
}

# s_traps PATTERN: the number of received notifications matching the ERE.
s_traps() { t_count "^TRAP .*$1" "$T_DIR/traps.log"; }

# s_wait_traps PATTERN COUNT: wait for COUNT notifications matching PATTERN.
s_wait_traps() {
	local deadline=$(($(t_now_ms) + T_TIMEOUT * 1000))
	while [ "$(s_traps "$1")" -lt "$2" ]; do
		[ "$(t_now_ms)" -lt "$deadline" ] ||
			{ cat "$T_DIR/traps.log" >&2; t_fail "waited ${T_TIMEOUT}s for $2 notification(s) matching /$1/"; }
		sleep 0.05
	done
}

# s_daemon_conf FILE [SET...]: t_conf with SNMP on, pointed at our master,
# every object writable (monitor.snmp_write = "all"; a SET may say else).
s_daemon_conf() {
	local f=$1
	shift
	t_conf "$f" 'monitor.snmp_enabled=true' "monitor.agentx_socket=\"$S_SOCK\"" \
		'monitor.agentx_ping_s=1' 'monitor.snmp_write="all"' "$@"
}

# s_daemon_start CONF: start the daemon and wait until its subtree is
# registered with the master.
s_daemon_start() {
	t_start "$1"
	t_wait_log 'event=agentx state=connected'
	t_wait_log 'event=snmp state=enabled'
	s_wait_get "$S_OBJ.1.1.0" '^[0-9]+$'
}

S_CLIENT=(-v2c -c private -t 3 -r 0 -On)

# s_get OID...: the values, one per line (-Oqv).
s_get() { snmpget "${S_CLIENT[@]}" -Oqv "127.0.0.1:$S_PORT" "$@" 2>&1; }

# s_get_typed OID: one value with its type ("Gauge32: 5000").
s_get_typed() { snmpget "${S_CLIENT[@]}" -Ov "127.0.0.1:$S_PORT" "$1" 2>&1; }

s_walk() { snmpwalk "${S_CLIENT[@]}" "127.0.0.1:$S_PORT" "${1:-$S_ROOT}" 2>&1; }

# s_set OID TYPE VALUE [...]: snmpset; prints its output, returns its status.
s_set() { snmpset "${S_CLIENT[@]}" "127.0.0.1:$S_PORT" "$@" 2>&1; }

# s_set_fails REASON OID TYPE VALUE [...]: the SET fails with REASON
# (e.g. wrongValue) on the first OID.
s_set_fails() {
	local reason=$1 out
	shift
	if out=$(s_set "$@"); then
		t_fail "SET $* succeeded, expected $reason: $out"
	fi
	case $out in
	*"Reason: $reason"*) ;;
	*) t_fail "SET $*: expected $reason, got: $out" ;;
	esac
}

# s_wait_get OID ERE [TIMEOUT]: poll a GET until its value matches.
s_wait_get() {
	local deadline=$(($(t_now_ms) + ${3:-$T_TIMEOUT} * 1000)) v
	until v=$(snmpget -v2c -c public -t 1 -r 0 -On -Oqv "127.0.0.1:$S_PORT" "$1" 2>&1) &&
		printf '%s\n' "$v" | grep -Eq -- "$2"; do
		[ "$(t_now_ms)" -lt "$deadline" ] || t_fail "waited ${3:-$T_TIMEOUT}s for $1 to match /$2/, last: $v"
		sleep 0.05
	done
}

# s_counters: "attempts successes failures unchanged parse validation apply".
s_counters() {
	s_get "$S_OBJ.2.1.0" "$S_OBJ.2.2.0" "$S_OBJ.2.3.0" "$S_OBJ.2.7.0" "$S_OBJ.2.4.0" \
		"$S_OBJ.2.5.0" "$S_OBJ.2.6.0" | tr '\n' ' '
}

# s_invariant: attempts = successes + failures + unchanged, and failures =
# parse + validation + apply, as served over SNMP.
s_invariant() {
	local a s f u p v x
	read -r a s f u p v x <<<"$(s_counters)"
	[ "$a" -eq $((s + f + u)) ] || t_fail "attempts $a != successes $s + failures $f + unchanged $u"
	[ "$f" -eq $((p + v + x)) ] || t_fail "failures $f != parse $p + validation $v + apply $x"
}

# s_last_error: sssReloadLastError's text.
s_last_error() { s_get "$S_OBJ.2.10.0" | sed 's/^"//; s/"$//'; }
