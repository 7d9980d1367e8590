#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/package-test.sh - the Debian package as an administrator meets
# it (root, Debian 12; scripts/test.sh runs it):
#   1. build sssonector_*.deb with `dpkg-buildpackage -us -uc -b` from a
#      clean copy of the tree (DEB_BUILD_OPTIONS=nocheck: the test suite
#      ran before), and run lintian on it: no error;
#   2. `apt-get install ./sssonector_*.deb`: the user sssonector (in
#      Debian-snmp), /etc/sssonector owned by it, the state directory, the
#      files in place, the conffiles, the installed unit verifies;
#   3. run the installed binary on a generated configuration as the service
#      user, the way the unit's ExecStart runs it (its User=, capabilities
#      and no_new_privs, through setpriv); reload it with the unit's
#      ExecReload; check that the version is stored in /var/lib/sssonector;
#   4. remove, then purge, and check that nothing is left behind.
# Never touches an sssonector package that was installed before it ran.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
note() { echo "package-test: $*"; }

[[ $(id -u) == 0 ]] || fail "needs root"
if dpkg-query -W -f='${Status}' sssonector 2>/dev/null | grep -q 'ok installed'; then
	fail "an sssonector package is installed on this machine: this test would replace it"
fi
work=$(mktemp -d /tmp/sssonector-pkg.XXXXXX)
chmod 0711 "$work"
pid=
made_state=
cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	if dpkg-query -W -f='${Status}' sssonector 2>/dev/null | grep -q 'installed'; then
		apt-get purge -y -q sssonector >/dev/null 2>&1 || true
	fi
	[[ -n $made_state ]] && rm -rf /var/lib/sssonector
	rm -rf "$work"
}
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive

# ---- 1. build, lintian ----------------------------------------------------------
mkdir "$work/src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	# the tracked files as they are in the work tree (no build products)
	git -C "$top" ls-files -z --cached --others --exclude-standard |
		(cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$work/src"
else
	cp -a "$top/." "$work/src/"
fi
note "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=nocheck)"
(cd "$work/src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1 ||
	{ tail -n 40 "$work/build.log" >&2; fail "dpkg-buildpackage failed"; }
deb=$(ls "$work"/sssonector_*.deb) || fail "no sssonector_*.deb built"
note "built $(basename "$deb")"
lintian --fail-on error --suppress-tags bad-distribution-in-changes-file "$deb" >"$work/lintian.log" 2>&1 ||
	{ cat "$work/lintian.log" >&2; fail "lintian reports errors"; }
note "lintian: no error; $(grep -c '^W:' "$work/lintian.log" || true) warning(s)"
sed 's/^/package-test: lintian: /' "$work/lintian.log"

# ---- 2. install --------------------------------------------------------------------
# A state directory that a daemon run by hand as root made before the
# package came: the package takes it over (made here when there is none).
if [[ ! -e /var/lib/sssonector ]]; then
	mkdir -m 0755 /var/lib/sssonector
	made_state=1
fi
apt-get install -y -q --no-install-recommends "$deb" >"$work/install.log" 2>&1 ||
	{ cat "$work/install.log" >&2; fail "apt-get install ./$(basename "$deb")"; }
id sssonector >/dev/null 2>&1 || fail "no user sssonector"
if getent group Debian-snmp >/dev/null; then
	id -nG sssonector | grep -qw Debian-snmp || fail "sssonector is not in Debian-snmp"
fi
[[ $(stat -c '%U:%G %a' /etc/sssonector) == "sssonector:sssonector 750" ]] ||
	fail "/etc/sssonector is $(stat -c '%U:%G %a' /etc/sssonector)"
[[ $(stat -c '%U %a' /var/lib/sssonector) == "sssonector 700" ]] || fail "/var/lib/sssonector is $(stat -c '%U %a' /var/lib/sssonector)"
files=(/usr/sbin/sssonector /lib/systemd/system/sssonector.service /etc/sssonector/sssonector.conf.example
	/etc/snmp/snmpd.conf.d/sssonector.conf /usr/share/snmp/mibs/SSSONECTOR-MIB.txt
	/usr/share/man/man8/sssonector.8.gz /usr/share/man/man5/sssonector.conf.5.gz
	/usr/share/doc/sssonector/install.md.gz /usr/share/doc/sssonector/copyright
	/usr/share/doc/sssonector/examples/sssonector.service.d/tun.conf)
for f in "${files[@]}"; do [[ -e $f ]] || fail "$f is not installed"; done
conffiles=$(dpkg-query -W -f='${Conffiles}' sssonector)
for f in /etc/sssonector/sssonector.conf.example /etc/snmp/snmpd.conf.d/sssonector.conf; do
	grep -q " $f " <<<"$conffiles" || fail "$f is not a conffile"
done
out=$(cd "$work" && systemd-analyze verify /lib/systemd/system/sssonector.service 2>&1) && [[ -z $out ]] ||
	fail "systemd-analyze verify of the installed unit: $out"
note "installed: user, directories, files, conffiles, unit verified"

# ---- 3. run as the unit does, reload --------------------------------------------------
unit=/lib/systemd/system/sssonector.service
key() { sed -n "s/^$1=//p" "$unit" | tail -n 1; }
exec_start=$(key ExecStart)
[[ $exec_start == "/usr/sbin/sssonector -c /etc/sssonector/sssonector.conf" ]] || fail "ExecStart is '$exec_start'"
[[ $(key User) == sssonector && -z $(key AmbientCapabilities) && $(key NoNewPrivileges) == yes ]] ||
	fail "the unit does not run as sssonector without capabilities"
sh "$top/scripts/mkpki.sh" "$work/pki" >/dev/null
chgrp -R sssonector "$work/pki"
chmod 0750 "$work/pki"
chmod 0640 "$work/pki"/*.key
port=$((20000 + RANDOM % 10000))
write_conf() { # write_conf UPLOAD: the operator's file, given to sssonector
	cat >/etc/sssonector/.new <<-EOF2
	mode = "server";
	tunnel = {
	  listen = "127.0.0.1:$port";
	  cert_file = "$work/pki/server.crt";
	  key_file = "$work/pki/server.key";
	  ca_file = "$work/pki/ca.crt";
	  upload_kbps = $1;
	};
	forward = { target = "127.0.0.1:9"; };
	monitor = { snmp_enabled = false; };
	EOF2
	chown sssonector:sssonector /etc/sssonector/.new
	chmod 0600 /etc/sssonector/.new
	mv /etc/sssonector/.new /etc/sssonector/sssonector.conf
}
write_conf 10000
# shellcheck disable=SC2086 # ExecStart is split as systemd splits it
setpriv --reuid=sssonector --regid=sssonector --init-groups --inh-caps=-all --ambient-caps=-all \
	--bounding-set=-all --no-new-privs $exec_start </dev/null 2>"$work/daemon.log" &
pid=$!
wait_log() { # wait_log ERE: up to 20 s
	local i
	for i in $(seq 1 400); do
		grep -q -E -e "$1" "$work/daemon.log" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/daemon.log" >&2
	fail "no log line /$1/"
}
wait_log "event=ready version=1 pid=$pid "
[[ $(awk '/^Uid:/ { print $2 }' "/proc/$pid/status") == $(id -u sssonector) ]] || fail "the daemon does not run as sssonector"
write_conf 5000
reload=$(key ExecReload)
[[ $reload == '/bin/kill -HUP $MAINPID' ]] || fail "ExecReload is '$reload'"
${reload//\$MAINPID/$pid}
wait_log 'event=reload result=applied version=2 source=(signal|file) '
state=/var/lib/sssonector/etc-sssonector-sssonector.conf
[[ -f $state/version-2 && $(stat -c %U "$state/version-2") == sssonector ]] || fail "version 2 is not stored in $state"
kill -TERM "$pid"
wait "$pid" || fail "the daemon exited with status $? on SIGTERM"
pid=
note "ran as sssonector with the unit's ExecStart, reloaded with its ExecReload, stopped"

# ---- 4. remove, purge, nothing left -----------------------------------------------
apt-get remove -y -q sssonector >"$work/remove.log" 2>&1 || { cat "$work/remove.log" >&2; fail "apt-get remove"; }
[[ ! -e /usr/sbin/sssonector ]] || fail "remove left the binary"
[[ -f /etc/sssonector/sssonector.conf ]] || fail "remove deleted the administrator's configuration"
apt-get purge -y -q sssonector >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "apt-get purge"; }
# (man-db's page cache is man's, filled by the `man` that verify runs)
left=$(find /etc /var /usr /lib /run -xdev -path /var/cache/man -prune -o \
	\( -iname '*sssonector*' -o -name 'SSSONECTOR-MIB*' \) -print 2>/dev/null || true)
[[ -z $left ]] || fail "purge left: $left"
dpkg-statoverride --list /etc/sssonector >/dev/null && fail "purge left the statoverride of /etc/sssonector"
note "removed and purged: nothing left (the system user sssonector stays, as Debian does)"
echo "package-test: PASS"
