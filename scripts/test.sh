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
# Then the fuzz harnesses: `make fuzz` builds them with clang's libFuzzer
# and scripts/fuzz.sh runs each for FUZZ_SECONDS (60); anything found fails
# the run (docs/fuzzing.md).
#
# Environment: SANITIZERS=0 builds without sanitizers; FUZZ_SECONDS=0 skips
# the fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh

sss_install_deps clang libclang-rt-14-dev
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

if [[ ${FUZZ_SECONDS:-60} -gt 0 ]]; then
	make -C build fuzz >build/fuzz.out 2>&1 || { cat build/fuzz.out; rc=1; }
	if [[ -x build/fuzz-build/tests/fuzz/fuzz_config ]]; then
		scripts/fuzz.sh "${FUZZ_SECONDS:-60}" || rc=1
	else
		cat build/fuzz.out
	fi
fi
exit "$rc"
