#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/demo.sh - SSSonector live: a private snmpd, a server and a client
# on loopback, data through the tunnel, snmpwalk and snmpset, file edits.
#
# Installs what is missing (Debian packages), builds, makes a throwaway PKI
# in a temp dir and starts, all on 127.0.0.1 with private ports and sockets:
#   - snmpd as AgentX master (its own config, UDP port and AgentX socket),
#   - the server (forward transport, the subagent of that snmpd),
#   - the client (forward.listen -> TLS -> server -> a byte counter).
# Then it moves data through the tunnel, shows the per-peer table while a
# stream runs, the reload metrics with snmpwalk, changes the live rate with snmpset (written back to the file),
# edits the file like an operator, saves a bad value, and stops everything
# by PID.  Nothing leaves loopback; the temp dir is removed.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
. scripts/deps.sh
sss_install_deps
sss_build >/dev/null
bin=$top/build/sssonector

tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '   %s\n' "$*"; }
# until_ok SECONDS CMD...: run CMD until it succeeds (bounded).
until_ok() {
	local n=$(($1 * 20))
	shift
	while ! "$@" >/dev/null 2>&1; do
		((n-- > 0)) || { echo "timed out waiting for: $*" >&2; return 1; }
		sleep 0.05
	done
}
log_has() { (($(grep -c -- "$2" "$1" || true) >= $3)); }
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		[[ -z $(ss -Htuan "sport = :$p") && " ${used_ports:-} " != *" $p "* ]] && break
	done
	used_ports="${used_ports:-} $p"
	echo "$p"
}

snmp_port=$(free_port) tls_port=$(free_port) fwd_port=$(free_port) sink_port=$(free_port)
mibs=()
if [[ -d $top/../shared/mibs/ietf ]]; then
	mibs=(-M "$top/../shared/mibs/ietf:$top/mibs" -m SSSONECTOR-MIB)
else
	export MIBS= MIBDIRS=/nonexistent
fi
snmp=(-v2c -c private -t 2 -r 0 "${mibs[@]}" "127.0.0.1:$snmp_port")
root=.1.3.6.1.4.1.54321

sh scripts/mkpki.sh "$tmp/pki" >/dev/null

# ---- snmpd, private ----------------------------------------------------
mkdir -m 0700 "$tmp/agentx" "$tmp/snmp"
cat >"$tmp/snmpd.conf" <<EOF
master agentx
agentXSocket $tmp/agentx/master
agentXPerms 0600 0700
agentAddress udp:127.0.0.1:$snmp_port
rocommunity public 127.0.0.1
rwcommunity private 127.0.0.1
EOF
SNMP_PERSISTENT_DIR=$tmp/snmp snmpd -f -C -c "$tmp/snmpd.conf" -I -smux -Lf "$tmp/snmpd.log" \
	-p "$tmp/snmpd.pid" </dev/null >/dev/null 2>&1 &
pids+=($!)
until_ok 10 snmpget -v2c -c public -t 1 -r 0 "127.0.0.1:$snmp_port" .1.3.6.1.2.1.1.3.0

# ---- the two ends ------------------------------------------------------
cat >"$tmp/server.conf" <<EOF
# SSSonector demo: the server end
mode = "server";
tunnel = {
  listen = "127.0.0.1:$tls_port";
  cert_file = "$tmp/pki/server.crt";
  key_file = "$tmp/pki/server.key";
  ca_file = "$tmp/pki/ca.crt";
  allowed_peers = [ "sssonector-client" ];   # as hostname verification: its DNS SAN
  upload_kbps = 16000;    # what all clients may send us, kbit/s
  download_kbps = 16000;
};
throttle = { enabled = true; };
forward = { target = "127.0.0.1:$sink_port"; };
monitor = {
  agentx_socket = "$tmp/agentx/master";
  agentx_ping_s = 1;
};
reload = { state_dir = "$tmp/state"; };   # versions survive restarts here
EOF
cat >"$tmp/client.conf" <<EOF
# SSSonector demo: the client end
mode = "client";
tunnel = {
  server = "127.0.0.1:$tls_port";
  server_name = "sssonector-server";
  cert_file = "$tmp/pki/client.crt";
  key_file = "$tmp/pki/client.key";
  ca_file = "$tmp/pki/ca.crt";
};
forward = { listen = "127.0.0.1:$fwd_port"; };
monitor = { snmp_enabled = false; };   # one subagent per master and subtree
reload = { state_dir = "$tmp/state"; };
EOF
chmod 600 "$tmp"/*.conf

step "sssonector --check on both files"
"$bin" -c "$tmp/server.conf" --check
"$bin" -c "$tmp/client.conf" --check

step "start snmpd (AgentX master, udp 127.0.0.1:$snmp_port), the server and the client"
"$bin" -c "$tmp/server.conf" 2>"$tmp/server.log" &
pids+=($!)
"$bin" -c "$tmp/client.conf" 2>"$tmp/client.log" &
pids+=($!)
until_ok 10 log_has "$tmp/server.log" 'event=snmp state=enabled' 1
until_ok 10 log_has "$tmp/client.log" 'event=listening' 1
grep -h -E 'event=(reload|ready|listening|agentx|snmp) ' "$tmp/server.log" "$tmp/client.log" | cut -c1-160 | sed 's/^/   | /'

# send MB through the tunnel (client forward.listen -> server -> sink) and
# say how long the far end took to receive it all
send() {
	local mb=$1 t0 t1 got
	timeout 60 socat -u TCP-LISTEN:"$sink_port",bind=127.0.0.1,reuseaddr SYSTEM:'wc -c' >"$tmp/got" &
	local sink=$!
	until_ok 5 bash -c "ss -Htln 'sport = :$sink_port' | grep -q ."
	t0=$(date +%s%N)
	head -c $((mb * 1000000)) /dev/zero | timeout 60 socat -u - TCP:127.0.0.1:"$fwd_port"
	wait "$sink"
	t1=$(date +%s%N)
	got=$(cat "$tmp/got")
	say "$mb MB through the tunnel: $got bytes arrived in $(((t1 - t0) / 1000000)) ms" \
		"= $((got * 8 / ((t1 - t0) / 1000))) Mbit/s"
}

step "data through the tunnel, server's upload_kbps = 16000 (16 Mbit/s)"
send 8

step "sssPeerTable while a stream runs: one row per stream, named by the allowed_peers entry"
timeout 60 socat -u TCP-LISTEN:"$sink_port",bind=127.0.0.1,reuseaddr SYSTEM:'wc -c' >/dev/null &
sink=$!
until_ok 5 bash -c "ss -Htln 'sport = :$sink_port' | grep -q ."
head -c 6000000 /dev/zero | timeout 60 socat -u - TCP:127.0.0.1:"$fwd_port" &
src=$!
peer_row() { snmpwalk "${snmp[@]}" $root.1.7.3.1.9 2>/dev/null | grep -q 'INTEGER'; }
until_ok 10 peer_row
if ((${#mibs[@]})); then
	snmptable -Cb -Cf ' | ' "${snmp[@]}" SSSONECTOR-MIB::sssPeerTable | sed 's/^/   /'
else
	snmpwalk "${snmp[@]}" $root.1.7.3 | sed 's/^/   /'
fi
wait "$src" || true
wait "$sink" || true

step "snmpwalk: the running configuration and the reload metrics"
snmpwalk "${snmp[@]}" $root.1.1 | sed 's/^/   /'
snmpwalk "${snmp[@]}" $root.1.2 | head -n 13 | sed 's/^/   /'

step "snmpset sssUploadKbps = 64000: validated and applied by the engine, written back to the file"
snmpset "${snmp[@]}" $root.1.4.2.0 u 64000 | sed 's/^/   /'
grep -h 'event=reload ' "$tmp/server.log" | tail -n 1 | cut -c1-200 | sed 's/^/   | /'
say "the file now says: $(grep upload_kbps "$tmp/server.conf" | sed 's/^ *//')"
send 8

step "edit the file like an operator (sed -i): upload_kbps 64000 -> 4000"
sed -i 's/upload_kbps = 64000;/upload_kbps = 4000;/' "$tmp/server.conf"
until_ok 10 log_has "$tmp/server.log" 'result=applied version=3' 1
grep -h 'event=reload ' "$tmp/server.log" | tail -n 1 | cut -c1-200 | sed 's/^/   | /'
say "snmpget: version $(snmpget -Oqv "${snmp[@]}" $root.1.1.1.0)," \
	"sssUploadKbps $(snmpget -Oqv "${snmp[@]}" $root.1.4.2.0)," \
	"last source $(snmpget -Oqv "${snmp[@]}" $root.1.2.9.0)"
send 2

step "a bad value in the file: rejected, version 3 keeps running"
sed -i 's/upload_kbps = 4000;/upload_kbps = 0;/' "$tmp/server.conf"
until_ok 10 log_has "$tmp/server.log" 'result=rejected' 1
grep -h 'result=rejected' "$tmp/server.log" | tail -n 1 | cut -c1-220 | sed 's/^/   | /'
say "sssReloadLastError: $(snmpget -Oqv "${snmp[@]}" $root.1.2.10.0)"
say "sssConfigVersion: $(snmpget -Oqv "${snmp[@]}" $root.1.1.1.0)"

step "an out-of-range snmpset is refused and changes nothing"
snmpset "${snmp[@]}" $root.1.4.2.0 u 0 2>&1 | sed 's/^/   /' || true

step "stop everything (SIGTERM by PID): the two ends, then snmpd"
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
	kill "${pids[i]}" 2>/dev/null || true
	wait "${pids[i]}" 2>/dev/null || true
done
pids=()
tail -n 1 "$tmp/server.log" | sed 's/^/   | /'
tail -n 1 "$tmp/client.log" | sed 's/^/   | /'
