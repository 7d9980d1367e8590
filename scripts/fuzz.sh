#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/fuzz.sh [SECONDS] [TARGET...] - run the libFuzzer harnesses that
# `make fuzz` built (in build/fuzz-build, or FUZZ_BUILD), each for SECONDS
# (default 60), from a copy of its seed corpus with its dictionary, and
# print one line per target: executions, executions per second, edges
# covered (cov), features (ft), corpus size at the end, and what it found.
# Found inputs (crash-, leak-, timeout-, oom-) are copied to
# tests/fuzz/findings/TARGET/ and the script exits 1: reproduce one with
# build/tests/fuzz/replay_TARGET FILE, fix it, then move the file to
# tests/fuzz/crashes/TARGET/ so make check replays it for ever
# (docs/fuzzing.md).  New corpus entries stay in a temp dir unless
# FUZZ_KEEP_CORPUS=1 (then they are merged into tests/fuzz/corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
build=${FUZZ_BUILD:-build/fuzz-build}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	read -r -a targets <<<"$(sed -n 's/^FUZZ_TARGETS = //p' Makefile.am)"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rc=0
printf '%-10s %12s %8s %7s %7s %7s  %s\n' target execs exec/s cov ft corpus found
for t in "${targets[@]}"; do
	bin=$build/tests/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz.sh: no $bin (run make fuzz)" >&2; exit 2; }
	mkdir -p "$work/$t/corpus" "$work/$t/out"
	opts=(-max_total_time="$secs" -print_final_stats=1 -timeout=25 -rss_limit_mb=2560
	      -max_len=65536 -artifact_prefix="$work/$t/out/")
	[ -f "tests/fuzz/$t.dict" ] && opts+=(-dict="tests/fuzz/$t.dict")
	"$bin" "${opts[@]}" "$work/$t/corpus" "tests/fuzz/corpus/$t" >"$work/$t/log" 2>&1 || true
	stat() { sed -n "s/^stat::$1: *//p" "$work/$t/log" | tail -n 1; }
	last=$(grep -E '^#[0-9]+' "$work/$t/log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	found=$(ls "$work/$t/out" | tr '\n' ' ')
	printf '%-10s %12s %8s %7s %7s %7s  %s\n' "$t" "$(stat number_of_executed_units)" \
		"$(stat average_exec_per_sec)" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${found:-nothing}"
	if [ -n "$found" ]; then
		mkdir -p "tests/fuzz/findings/$t"
		cp "$work/$t/out"/* "tests/fuzz/findings/$t/"
		grep -E -A30 'ERROR|SUMMARY|fuzz_[a-z]+:' "$work/$t/log" | head -n 60 >&2
		rc=1
	fi
	if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ]; then
		"$bin" -merge=1 "tests/fuzz/corpus/$t" "$work/$t/corpus" >/dev/null 2>&1 || true
	fi
done
exit "$rc"
