#!/bin/bash
# SPDX-License-Identifier: MIT
# scripts/gen-docs.sh [SSSONECTOR] - rewrite the settings table in
# docs/configuration.md from `sssonector --print-schema`.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/sssonector}
doc=docs/configuration.md
table=$("$bin" --print-schema)
awk -v table="$table" '
	/<!-- BEGIN SCHEMA -->/ { print; print table; skip = 1; next }
	/<!-- END SCHEMA -->/ { skip = 0 }
	!skip { print }' "$doc" >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "updated $doc"
