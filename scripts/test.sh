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
# a message when run as another user.
#
# Environment: SANITIZERS=0 builds without sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

sss_install_deps
conf=(--enable-werror)
[[ ${SANITIZERS:-1} == 1 ]] && conf+=(--enable-sanitizers)
SSS_RECONFIGURE=1 sss_build "${conf[@]}"

rc=0
make -C build -j"$(nproc)" check || rc=$?
# A plain summary line for readers and CI, from automake's own counts.
log=build/test-suite.log
if [[ -f $log ]]; then
	((rc == 0)) || cat "$log"
	awk '/^# (PASS|FAIL|SKIP|ERROR|XFAIL|XPASS):/ { n[$2] = $3 }
	     END { printf "%d passed, %d failed, %d skipped\n", n["PASS:"], n["FAIL:"] + n["ERROR:"] + n["XPASS:"], n["SKIP:"] }' "$log"
fi
exit "$rc"
