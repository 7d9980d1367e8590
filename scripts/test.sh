#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/test.sh - install what the tests need, build, run every test.
#
# This is the README's test command and what .ci/run calls.  On a fresh
# Debian 12 machine, as root, it installs the missing Debian packages (only
# those), builds with -Werror and AddressSanitizer/UndefinedBehaviorSanitizer
# in ./build, and runs `make check`: the CUnit programs and the shell
# integration tests, which start their own daemons and services on loopback
# with private ports, sockets and temp dirs.  Tests that need root skip with
# a message when run as another user.  Then:
#   - the fuzz harnesses: `make fuzz` builds them with clang's libFuzzer
#     and scripts/fuzz.sh runs each for FUZZ_SECONDS (60); anything found
#     fails the run (docs/fuzzing.md);
#   - make install into a DESTDIR: every file in its place, an edited snmpd
#     drop-in kept, uninstall removes the rest;
#   - configure without CUnit: the daemon builds, make check says why not;
#   - `make distcheck`: the tarball builds, installs, uninstalls cleanly and
#     passes `make check` (built without libsystemd, so the datagram
#     sd_notify path runs there; tests that need root, namespaces or minutes
#     skip inside it, having run above);
#   - scripts/package-test.sh (root only): the Debian package is built,
#     installed, run as its service user, reloaded, removed and purged.
#
# Environment: SANITIZERS=0 builds without sanitizers; FUZZ_SECONDS=0 skips
# the fuzzers; RELEASE_CHECKS=0 leaves out the install, distcheck and
# package checks.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

extra=()
[[ ${RELEASE_CHECKS:-1} == 1 && $(id -u) == 0 ]] && extra=("${SSS_PKG_TEST_PKGS[@]}")
sss_install_deps clang libclang-rt-14-dev "${extra[@]}"
conf=(--enable-werror)
[[ ${SANITIZERS:-1} == 1 ]] && conf+=(--enable-sanitizers)
SSS_RECONFIGURE=1 sss_build "${conf[@]}"

rc=0
make -C build -j"$(nproc)" check || rc=$?
passed=0 failed=0 skipped=0
# automake's own counts
log=build/test-suite.log
if [[ -f $log ]]; then
	((rc == 0)) || cat "$log"
	read -r passed failed skipped < <(awk '/^# (PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):/ { n[$2] = $3 }
	     END { print n["PASS:"] + 0, n["FAIL:"] + n["ERROR:"] + n["XPASS:"], n["SKIP:"] + 0 }' "$log")
fi

# release_check NAME CMD...: one more result in the summary
release_check() {
	local name=$1 t0=$SECONDS
	shift
	echo "== $name"
	if "$@"; then
		echo "$name: PASS ($((SECONDS - t0)) s)"
		passed=$((passed + 1))
	else
		echo "$name: FAIL ($((SECONDS - t0)) s)"
		failed=$((failed + 1))
		rc=1
	fi
}
# configure without CUnit: the daemon builds, configure says that the tests
# are disabled, and make check refuses with the reason.
without_cunit() {
	local d pc f dir ret=1
	d=$(mktemp -d)
	mkdir "$d/pc"
	for dir in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
		for f in "$dir"/*.pc; do
			[[ -e $f && $(basename "$f") != cunit.pc ]] && ln -sf "$f" "$d/pc/"
		done
	done
	if (cd "$d" && PKG_CONFIG_LIBDIR=$d/pc "$OLDPWD/configure" >configure.out 2>&1) &&
		grep -q 'make check: disabled' "$d/configure.out" &&
		make -C "$d" -j"$(nproc)" >"$d/make.out" 2>&1 && [[ -x $d/sssonector ]] &&
		! make -C "$d" check >"$d/check.out" 2>&1 && grep -q 'make check needs CUnit' "$d/check.out" &&
		! grep -q '^PASS\|^FAIL' "$d/check.out"; then
		ret=0
	else
		tail -n 20 "$d"/*.out
	fi
	rm -rf "$d"
	return "$ret"
}
# make install: the layout under a DESTDIR; an snmpd drop-in the
# administrator edited is kept by a second install and by uninstall.
install_layout() {
	local d p ret=0
	d=$(mktemp -d)
	p=$(sed -n "s/^prefix = //p" build/Makefile)
	make -C build install DESTDIR="$d" >"$d.log" 2>&1 || { tail -n 20 "$d.log"; rm -rf "$d" "$d.log"; return 1; }
	for f in "$p/sbin/sssonector" "$p/share/snmp/mibs/SSSONECTOR-MIB.txt" "$p/etc/snmp/snmpd.conf.d/sssonector.conf" \
		"$p/etc/sssonector/sssonector.conf.example" "$p/share/man/man8/sssonector.8" \
		"$p/share/man/man5/sssonector.conf.5" "$p/share/doc/sssonector/install.md" \
		"$p/share/doc/sssonector/examples/sssonector.service.d/tun.conf" \
		"$(sed -n "s/^systemdsystemunitdir = //p" build/Makefile)/sssonector.service"; do
		[[ -f $d$f ]] || { echo "make install: no $f"; ret=1; }
	done
	echo "# the administrator's edit" >>"$d$p/etc/snmp/snmpd.conf.d/sssonector.conf"
	make -C build install DESTDIR="$d" >"$d.log" 2>&1 && make -C build uninstall DESTDIR="$d" >>"$d.log" 2>&1 || ret=1
	grep -q "the administrator's edit" "$d$p/etc/snmp/snmpd.conf.d/sssonector.conf" ||
		{ echo "make install replaced an edited snmpd drop-in"; ret=1; }
	local left
	left=$(find "$d" -type f ! -path "*/snmpd.conf.d/sssonector.conf")
	[[ -z $left ]] || { echo "make uninstall left: $left"; ret=1; }
	rm -rf "$d" "$d.log"
	return "$ret"
}
# the fuzz harnesses (no clang with libFuzzer: make fuzz says so, no run)
fuzzers() {
	make -C build fuzz >build/fuzz.out 2>&1 || { cat build/fuzz.out; return 1; }
	if [[ -x build/fuzz-build/tests/fuzz/fuzz_config ]]; then
		scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
	else
		cat build/fuzz.out
	fi
}
if [[ ${FUZZ_SECONDS:-60} -gt 0 ]]; then
	release_check "fuzzers" fuzzers
fi
if [[ ${RELEASE_CHECKS:-1} == 1 ]]; then
	release_check "make install layout" install_layout
	release_check "configure and make without CUnit" without_cunit
	release_check "make distcheck" make -C build -j"$(nproc)" distcheck
	if [[ $(id -u) == 0 ]]; then
		release_check "package test" scripts/package-test.sh
	else
		echo "package test: SKIP (needs root)"
		skipped=$((skipped + 1))
	fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$rc"
