#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/gen-docs.sh [SSSONECTOR] - rewrite the settings table in
# docs/configuration.md and the SETTINGS section of man/sssonector.conf.5
# from the daemon's one settings table (`sssonector --print-schema`).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/sssonector}

# splice FILE BEGIN END TEXT: replace the lines between BEGIN and END
splice() {
	# (through the environment: awk -v would read backslashes as escapes)
	TABLE=$4 BEGIN_MARK=$2 END_MARK=$3 awk '
		index($0, ENVIRON["BEGIN_MARK"]) == 1 { print; print ENVIRON["TABLE"]; skip = 1; next }
		index($0, ENVIRON["END_MARK"]) == 1 { skip = 0 }
		!skip { print }' "$1" >"$1.tmp"
	mv "$1.tmp" "$1"
	echo "updated $1"
}
splice docs/configuration.md '<!-- BEGIN SCHEMA -->' '<!-- END SCHEMA -->' "$("$bin" --print-schema)"
splice man/sssonector.conf.5 '.\" BEGIN SCHEMA' '.\" END SCHEMA' "$("$bin" --print-schema=man)"
