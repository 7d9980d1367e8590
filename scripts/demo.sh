#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/demo.sh - SSSonector's engine, live.
#
# Installs what is missing (Debian packages), builds, makes a throwaway PKI
# in a temp dir, starts the daemon on a private configuration and changes
# that configuration while it runs: an editor-style save, a bad value, a
# restart-only key, SIGHUP.  It prints the audit log as it goes, then stops
# the daemon by its PID and removes the temp dir.  Nothing leaves loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
. scripts/deps.sh
sss_install_deps
sss_build >/dev/null
bin=$top/build/sssonector

tmp=$(mktemp -d)
pid=""
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# wait_line PATTERN N: until the log has N lines matching PATTERN (10 s bound)
wait_line() {
	local i
	for ((i = 0; i < 200; i++)); do
		(($(grep -c -- "$1" "$tmp/daemon.log" || true) >= $2)) && return 0
		sleep 0.05
	done
	echo "timed out waiting for: $1" >&2
	return 1
}
show_new() { # print the log lines added since the last call
	local n
	n=$(wc -l <"$tmp/daemon.log")
	sed -n "$((${shown:-0} + 1)),${n}p" "$tmp/daemon.log" | sed 's/^/  | /'
	shown=$n
}

sh scripts/mkpki.sh "$tmp/pki" >/dev/null
conf=$tmp/sssonector.conf
cat >"$conf" <<CONF
# SSSonector demo configuration
mode = "server";
tunnel = {
  listen = "127.0.0.1:44300";
  cert_file = "$tmp/pki/server.crt";
  key_file = "$tmp/pki/server.key";
  ca_file = "$tmp/pki/ca.crt";
  upload_kbps = 10000;   # kbit/s, client -> server
};
forward = { target = "127.0.0.1:5201"; };
throttle = { enabled = false; };
CONF
chmod 600 "$conf"

step "sssonector --check"
"$bin" -c "$conf" --check
step "sssonector --print-config (effective configuration, defaults filled in)"
"$bin" -c "$conf" --print-config | sed 's/^/  /'

step "start the daemon"
"$bin" -c "$conf" 2>"$tmp/daemon.log" &
pid=$!
wait_line 'event=ready' 1
show_new

step "edit the file like sed -i does (temp file + rename): upload_kbps 10000 -> 5000, throttle on"
sed -i -e 's/upload_kbps = 10000/upload_kbps = 5000/' -e 's/enabled = false/enabled = true/' "$conf"
wait_line 'result=applied version=2' 1
show_new

step "a bad value: upload_kbps = 0 (rejected, version 2 keeps running)"
sed -i 's/upload_kbps = 5000/upload_kbps = 0/' "$conf"
wait_line 'result=rejected' 1
show_new

step "fixed again, written in place"
sed 's/upload_kbps = 0/upload_kbps = 2500/' "$conf" >"$tmp/new" && cat "$tmp/new" >"$conf"
wait_line 'result=applied version=3' 1
show_new

step "a restart-only key: mode = \"client\" (rejected with its reason)"
cp "$conf" "$tmp/good.conf"
sed -i 's/mode = "server"/mode = "client"/' "$conf"
wait_line 'result=rejected' 2
show_new
step "the file put back as it runs (same bytes as version 3: no reload), then SIGHUP"
cp "$tmp/good.conf" "$conf"
kill -HUP "$pid"
wait_line 'result=unchanged' 1
show_new

step "stop (SIGTERM)"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=""
show_new
echo "exit status: $rc"
