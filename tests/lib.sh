# SPDX-License-Identifier: MIT
# lib.sh - helpers sourced by the shell integration tests (bash).
#
# Every wait here is on a condition (a log line, a process state) with a
# bound; the bound is SSS_TEST_TIMEOUT seconds (default 10; raise it for
# valgrind or slow machines).  Short sleeps only appear inside such bounded
# polling loops.  Every daemon a test starts is recorded and stopped by PID
# when the test exits, with SIGKILL after the bound; nothing here ever
# signals a process by name.
#
# Variables a test may read:
#   T_DIR      the test's private directory (mode 0700), removed at exit
#              unless SSS_KEEP_TMP is set
#   T_PKI      the throwaway PKI (after t_pki)
#   T_PID      the PID of the daemon started last (t_start)
#   T_LOG      its stderr (the logfmt log)
#   T_CONF     its configuration file
#   T_TIMEOUT  the bound of every wait, in seconds

set -u
umask 077

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SSSONECTOR:=$top_builddir/sssonector}"
T_TIMEOUT=${SSS_TEST_TIMEOUT:-10}
T_NAME=$(basename "$0" .test)
T_DIR=
T_PKI=
T_PID=
T_LOG=
T_CONF=
T_PIDS=
T_ON_EXIT=()

t_note() { printf '%s: %s\n' "$T_NAME" "$*" >&2; }

# t_fail MESSAGE: fail the test, showing the tail of the current log.
t_fail() {
	printf '%s: FAIL: %s\n' "$T_NAME" "$*" >&2
	if [ -n "$T_LOG" ] && [ -f "$T_LOG" ]; then
		printf -- '--- last lines of %s ---\n' "$T_LOG" >&2
		tail -n 25 "$T_LOG" >&2
		printf -- '---\n' >&2
	fi
	exit 1
}

t_skip() {
	printf '%s: SKIP: %s\n' "$T_NAME" "$*" >&2
	exit 77
}

# t_full_suite_only WHAT: skip inside `make distcheck` (SSS_DISTCHECK=1),
# where the tarball's build re-runs the suite: tests that need root,
# network namespaces or minutes run once, outside it.
t_full_suite_only() {
	[ -z "${SSS_DISTCHECK:-}" ] || t_skip "inside make distcheck ($1): the full suite runs it outside"
}

t_pass() {
	printf '%s: PASS\n' "$T_NAME" >&2
	exit 0
}

# Milliseconds since the epoch.
t_now_ms() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local t=${EPOCHREALTIME/./}
		echo $((t / 1000))
	else
		date +%s%3N
	fi
}

# t_alive PID: the process exists and is not a zombie.
t_alive() {
	local st
	{ read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1
	st=${st##*) }
	st=${st%% *}
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# t_wait_exit PID [TIMEOUT]: wait until PID has exited; 1 on timeout.
t_wait_exit() {
	local deadline=$(($(t_now_ms) + ${2:-$T_TIMEOUT} * 1000))
	while t_alive "$1"; do
		[ "$(t_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.02
	done
	return 0
}

# t_on_exit CMD [ARG...]: run CMD at exit, before the daemons are stopped
# (last registered first): undo what rm -rf cannot (chattr +i, a frozen
# file system, a mount).
t_on_exit() {
	T_ON_EXIT=("$(printf '%q ' "$@")" "${T_ON_EXIT[@]}")
}

t_cleanup() {
	local pid cmd
	for cmd in "${T_ON_EXIT[@]}"; do
		eval "$cmd" || t_note "at exit: $cmd failed"
	done
	for pid in $T_PIDS; do
		t_alive "$pid" || continue
		kill -TERM "$pid" 2>/dev/null
		kill -CONT "$pid" 2>/dev/null # in case a test stopped it
		if ! t_wait_exit "$pid" "$T_TIMEOUT"; then
			t_note "pid $pid ignored SIGTERM; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	if [ -n "$T_DIR" ] && [ -d "$T_DIR" ]; then
		if [ -n "${SSS_KEEP_TMP:-}" ]; then
			t_note "kept $T_DIR"
		else
			rm -rf "$T_DIR"
		fi
	fi
}

# t_tmpdir: make T_DIR and install the cleanup; also checks the binary.
t_tmpdir() {
	[ -x "$SSSONECTOR" ] || t_skip "no daemon binary at $SSSONECTOR"
	T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sssonector-$T_NAME.XXXXXX") || t_fail "mktemp -d"
	chmod 0700 "$T_DIR"
	trap t_cleanup EXIT
	trap 'exit 1' HUP INT TERM
	# Ports for configurations (free when picked, see t_free_port).
	T_PORT_TUNNEL=$(t_free_port) || exit 1
	T_PORT_FORWARD=$(t_free_port) || exit 1
}

# t_port_busy PORT: some TCP socket on this host has PORT as its local port
# (listening or connected, any address).  Without ss(8) nothing is busy.
t_port_busy() {
	command -v ss >/dev/null 2>&1 || return 1
	[ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ]
}

# t_free_port: print a TCP port that no socket uses now, below the
# ephemeral range (20000-32767), and not handed out before in this test
# (remembered in $T_DIR/ports, so it works from $(...)).
t_free_port() {
	local n=0 p used=$T_DIR/ports
	while [ "$n" -lt 500 ]; do
		n=$((n + 1))
		p=$((20000 + RANDOM % 12768))
		grep -qx "$p" "$used" 2>/dev/null && continue
		t_port_busy "$p" && continue
		echo "$p" >>"$used"
		echo "$p"
		return 0
	done
	t_fail "no free TCP port found"
}

# t_listening PORT: a TCP socket listens on PORT.
t_listening() {
	[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

# t_until TIMEOUT WHAT CMD [ARG...]: poll CMD until it succeeds; fail
# with "waited TIMEOUTs for WHAT" after TIMEOUT seconds.
t_until() {
	local limit=$1 what=$2
	shift 2
	local deadline=$(($(t_now_ms) + limit * 1000))
	until "$@"; do
		[ "$(t_now_ms)" -lt "$deadline" ] || t_fail "waited ${limit}s for $what"
		sleep 0.02
	done
}

# t_wait_listen PORT [TIMEOUT]: wait until something listens on PORT.
t_wait_listen() {
	t_until "${2:-$T_TIMEOUT}" "a listener on port $1" t_listening "$1"
}

# t_size FILE: its size in bytes (0 if missing).
t_size() {
	local n
	n=$(stat -c %s "$1" 2>/dev/null)
	echo "${n:-0}"
}

# t_size_ge FILE BYTES: FILE has at least BYTES bytes (for t_until, which
# needs a command it can run again: t_until 30 "..." t_size_ge FILE N).
t_size_ge() {
	[ "$(t_size "$1")" -ge "$2" ]
}

# t_bg CMD [ARG...]: run CMD in the background with the caller's stdin
# (redirect the call: t_bg socat ... <fifo), stopped by PID at exit like
# the daemons; its PID is in T_BG_PID.
t_bg() {
	"$@" <&0 &
	T_BG_PID=$!
	T_PIDS="$T_PIDS $T_BG_PID"
}

# t_new_server_identity NAME: a new EC key and a certificate for it
# (CN=sssonector-server, the same SANs as the original) signed by the test
# CA, as $T_PKI/NAME.key and $T_PKI/NAME.crt.
t_new_server_identity() {
	local tmp=$T_DIR/newid.$1
	mkdir -p "$tmp"
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T_PKI/$1.key" 2>/dev/null ||
		t_fail "openssl genpkey"
	chmod 0600 "$T_PKI/$1.key"
	openssl req -new -key "$T_PKI/$1.key" -subj "/CN=sssonector-server" \
		-out "$tmp/req.csr" 2>/dev/null || t_fail "openssl req"
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" \
		"subjectAltName=DNS:sssonector-server,DNS:localhost,IP:127.0.0.1,IP:::1" >"$tmp/req.ext"
	openssl x509 -req -in "$tmp/req.csr" -CA "$T_PKI/ca.crt" -CAkey "$T_PKI/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 90 -sha256 \
		-extfile "$tmp/req.ext" -out "$T_PKI/$1.crt" 2>/dev/null || t_fail "openssl x509"
	chmod 0644 "$T_PKI/$1.crt"
}

# t_pki: make a throwaway PKI in $T_DIR/pki (scripts/mkpki.sh).
t_pki() {
	command -v openssl >/dev/null 2>&1 || t_skip "openssl not installed"
	T_PKI=$T_DIR/pki
	sh "$top_srcdir/scripts/mkpki.sh" "$T_PKI" >"$T_DIR/mkpki.log" 2>&1 ||
		{ cat "$T_DIR/mkpki.log" >&2; t_fail "scripts/mkpki.sh failed"; }
}

# t_resign_server_cert: write a new certificate for the same server key,
# signed by the test CA, *in place* into $T_PKI/server.crt (rotation).
t_resign_server_cert() {
	local tmp=$T_DIR/resign
	mkdir -p "$tmp"
	openssl req -new -key "$T_PKI/server.key" -subj "/CN=sssonector-server" \
		-out "$tmp/server.csr" 2>/dev/null || t_fail "openssl req"
	printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
		"extendedKeyUsage=serverAuth" \
		"subjectAltName=DNS:sssonector-server,DNS:localhost,IP:127.0.0.1" >"$tmp/server.ext"
	openssl x509 -req -in "$tmp/server.csr" -CA "$T_PKI/ca.crt" -CAkey "$T_PKI/ca.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 90 -sha256 \
		-extfile "$tmp/server.ext" -out "$tmp/server.crt" 2>/dev/null || t_fail "openssl x509"
	cat "$tmp/server.crt" >"$T_PKI/server.crt"
}

# t_render [SET...]: print a valid server/forward configuration.  Each SET
# is "key=value" (dotted key, value in libconfig syntax, e.g.
# tunnel.upload_kbps=5000 or mode='"client"') to set or add a setting, or
# "-key" to remove one.  "@PKI@" in values becomes $T_PKI.
t_render() {
	{
		printf '%s\n' \
			'mode="server"' \
			'transport="forward"' \
			"tunnel.listen=\"127.0.0.1:$T_PORT_TUNNEL\"" \
			'tunnel.cert_file="@PKI@/server.crt"' \
			'tunnel.key_file="@PKI@/server.key"' \
			'tunnel.ca_file="@PKI@/ca.crt"' \
			"forward.target=\"127.0.0.1:$T_PORT_FORWARD\"" \
			'monitor.snmp_enabled=false' \
			'reload.debounce_ms=100' \
			"reload.state_dir=\"$T_DIR/state\""
		local a
		for a in "$@"; do printf '%s\n' "$a"; done
	} | awk -v pki="$T_PKI" '
	{
		if (substr($0, 1, 1) == "-") {
			del[substr($0, 2)] = 1
			next
		}
		i = index($0, "=")
		k = substr($0, 1, i - 1)
		v = substr($0, i + 1)
		gsub(/@PKI@/, pki, v)
		if (!(k in val))
			order[n++] = k
		val[k] = v
		delete del[k]
	}
	END {
		print "# sssonector test configuration"
		for (j = 0; j < n; j++) {
			k = order[j]
			if (k in del)
				continue
			d = index(k, ".")
			if (d == 0) {
				printf "%s = %s;\n", k, val[k]
				continue
			}
			g = substr(k, 1, d - 1)
			if (g in done)
				continue
			done[g] = 1
			printf "%s = {\n", g
			for (m = j; m < n; m++) {
				k2 = order[m]
				if ((k2 in del) || substr(k2, 1, d) != g ".")
					continue
				printf "  %s = %s;\n", substr(k2, d + 1), val[k2]
			}
			print "};"
		}
	}'
}

# t_conf FILE [SET...]: write t_render's output to FILE, mode 0600
# (through a temporary file and rename, so a watcher sees one event).
t_conf() {
	local f=$1
	shift
	t_render "$@" >"$f.tmp.$$" || t_fail "cannot write $f"
	chmod 0600 "$f.tmp.$$"
	mv -f "$f.tmp.$$" "$f"
}

# t_replace_atomic FILE [MODE] < CONTENT: write a temporary file in FILE's
# directory and rename it over FILE.
t_replace_atomic() {
	local f=$1 mode=${2:-0600} tmp
	case $f in */*) ;; *) f=./$f ;; esac
	tmp=$(mktemp "${f%/*}/.tmp.XXXXXX") || t_fail "mktemp"
	cat >"$tmp"
	chmod "$mode" "$tmp"
	mv -f "$tmp" "$f" || t_fail "mv $tmp $f"
}

# t_start CONF [ARG...]: start the daemon on CONF in the background (stderr
# to $T_DIR/NAME.log, NAME from T_START_NAME or "daemon") and wait for its
# event=ready line.  Sets T_PID, T_LOG, T_CONF.
t_start() {
	local conf=$1 name=${T_START_NAME:-daemon}
	shift
	# shellcheck disable=SC2034 # for the tests
	T_CONF=$conf
	T_LOG=$T_DIR/$name.log
	: >"$T_LOG"
	"$SSSONECTOR" -c "$conf" "$@" </dev/null >"$T_DIR/$name.out" 2>"$T_LOG" &
	T_PID=$!
	T_PIDS="$T_PIDS $T_PID"
	local deadline=$(($(t_now_ms) + T_TIMEOUT * 1000))
	while ! grep -q 'event=ready' "$T_LOG"; do
		t_alive "$T_PID" || { wait "$T_PID"; t_fail "daemon exited with status $? before event=ready"; }
		[ "$(t_now_ms)" -lt "$deadline" ] || t_fail "no event=ready within ${T_TIMEOUT}s"
		sleep 0.02
	done
	local ready
	ready=$(grep -m1 -o -E "event=ready version=[0-9]+ pid=$T_PID " "$T_LOG") ||
		t_fail "the ready line does not say version=N pid=$T_PID"
	# The first start on a fresh state directory runs version 1; a
	# restart continues the count (reload.state_dir).
	T_VERSION=${ready#event=ready version=}
	T_VERSION=${T_VERSION%% *}
}

# t_count PATTERN [FILE]: number of lines of FILE ($T_LOG) matching the ERE.
t_count() {
	local n
	n=$(grep -c -E -e "$1" "${2:-$T_LOG}" 2>/dev/null)
	echo "${n:-0}"
}

# t_wait_log PATTERN [COUNT] [TIMEOUT]: wait until at least COUNT (1) lines
# of $T_LOG match the ERE PATTERN; fail with the log's tail on timeout.
t_wait_log() {
	local pat=$1 want=${2:-1} limit=${3:-$T_TIMEOUT}
	local deadline=$(($(t_now_ms) + limit * 1000))
	while [ "$(t_count "$pat")" -lt "$want" ]; do
		if [ "$(t_now_ms)" -ge "$deadline" ]; then
			t_fail "waited ${limit}s for $want line(s) matching /$pat/, have $(t_count "$pat")"
		fi
		if [ -n "$T_PID" ] && ! t_alive "$T_PID"; then
			[ "$(t_count "$pat")" -ge "$want" ] && break
			t_fail "the daemon (pid $T_PID) died while waiting for /$pat/"
		fi
		sleep 0.02
	done
}

# t_quiet PATTERN COUNT MS: during MS milliseconds, the number of lines
# matching PATTERN must stay COUNT (a bounded check that nothing more came).
t_quiet() {
	local pat=$1 want=$2 deadline=$(($(t_now_ms) + $3)) have
	while [ "$(t_now_ms)" -lt "$deadline" ]; do
		have=$(t_count "$pat")
		[ "$have" -eq "$want" ] || t_fail "expected $want line(s) matching /$pat/, have $have"
		sleep 0.02
	done
	have=$(t_count "$pat")
	[ "$have" -eq "$want" ] || t_fail "expected $want line(s) matching /$pat/, have $have"
}

# t_stop [SIGNAL]: stop the current daemon (SIGTERM) and assert exit 0 and
# the event=stop line.
t_stop() {
	local sig=${1:-TERM} rc
	kill "-$sig" "$T_PID" || t_fail "cannot signal pid $T_PID"
	t_wait_exit "$T_PID" || t_fail "the daemon did not exit within ${T_TIMEOUT}s of SIG$sig"
	wait "$T_PID"
	rc=$?
	[ "$rc" -eq 0 ] || t_fail "the daemon exited with status $rc after SIG$sig"
	grep -q "event=stop signal=SIG$sig" "$T_LOG" || t_fail "no event=stop signal=SIG$sig line"
	local p rest=
	for p in $T_PIDS; do [ "$p" = "$T_PID" ] || rest="$rest $p"; done
	T_PIDS=$rest
}

# t_assert_alive: the current daemon is still running.
t_assert_alive() {
	t_alive "$T_PID" || t_fail "the daemon (pid $T_PID) is not running"
}

# t_re STRING: STRING with ERE metacharacters escaped.
t_re() {
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'
}

# t_logfmt_escape STRING: STRING as it appears inside a quoted logfmt value
# (backslash and double quote escaped).
t_logfmt_escape() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//\"/\\\"}"
}

# t_version: the version the current daemon runs, from its last audit line
# that carries one (applied, rejected or unchanged).
t_version() {
	grep -E 'event=reload result=' "$T_LOG" | tail -n 1 | sed -n 's/.* version=\([0-9]*\).*/\1/p'
}

# ---- a daemon that runs as a service user ----------------------------------

# t_svc_dir NAME: $T_DIR/NAME owned by $T_SVC_USER (default nobody), with a
# copy of the PKI that user can read (the keys 0600, its own); sets SVC.
# $T_DIR becomes 0711 so that the user can reach it.
t_svc_dir() {
	local u=${T_SVC_USER:-nobody}
	chmod 0711 "$T_DIR"
	SVC=$T_DIR/$1
	mkdir -p "$SVC/pki"
	cp "$T_PKI"/server.crt "$T_PKI"/server.key "$T_PKI"/ca.crt "$T_PKI"/client.crt "$T_PKI"/client.key "$SVC/pki/"
	chown -R "$u:$(id -g "$u")" "$SVC"
	chmod 0700 "$SVC" "$SVC/pki"
}

# t_svc_conf FILE [SET...]: t_render with the copied PKI and the state in
# $SVC/state, given to the service user before it is renamed into place
# (a daemon running as that user reads it when the watch fires).
t_svc_conf() {
	local f=$1 u=${T_SVC_USER:-nobody}
	shift
	T_PKI=$SVC/pki t_render "reload.state_dir=\"$SVC/state\"" "$@" >"$f.tmp" || t_fail "cannot write $f"
	chmod 0600 "$f.tmp"
	chown "$u:$(id -g "$u")" "$f.tmp"
	mv -f "$f.tmp" "$f"
}
