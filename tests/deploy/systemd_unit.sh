#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# deploy/systemd/iiostreamd.service, checked without running it (this needs
# no systemd as PID 1): `systemd-analyze verify` must have nothing to say,
# and the exposure score of `systemd-analyze security --offline=true` must
# stay below 2.0. The copy checked runs the built daemon, since verify wants
# ExecStart's binary to exist.
#
#   tests/deploy/systemd_unit.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
unit=$src/deploy/systemd/iiostreamd.service
max_exposure=2.0
command -v systemd-analyze >/dev/null || {
	echo "systemd_unit: needs systemd-analyze (the systemd package)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/systemd_unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/sbin/iiostreamd|$build/server/iiostreamd|g" "$unit" >"$tmp/iiostreamd.service"

echo "== systemd-analyze verify ($(systemd-analyze --version | head -1))"
if ! systemd-analyze verify "$tmp/iiostreamd.service" >"$tmp/verify.log" 2>&1; then
	cat "$tmp/verify.log"
	echo "systemd_unit: FAIL: systemd-analyze verify refused the unit" >&2
	exit 1
fi
cat "$tmp/verify.log"
# Warnings (an unknown or misspelt setting is only "ignoring") fail too;
# lines about other units on this machine do not.
if grep -q "iiostreamd" "$tmp/verify.log"; then
	echo "systemd_unit: FAIL: systemd-analyze verify warns about the unit" >&2
	exit 1
fi
echo "verify: no complaint"

echo "== systemd-analyze security --offline=true"
systemd-analyze security --offline=true --no-pager "$tmp/iiostreamd.service" \
	>"$tmp/security.log" 2>&1 || true
# what is still exposed, then the score
grep -E '^✗' "$tmp/security.log" || true
score=$(sed -n 's/.*Overall exposure level for iiostreamd.service: \([0-9.]*\).*/\1/p' \
	"$tmp/security.log")
if [ -z "$score" ]; then
	cat "$tmp/security.log"
	echo "systemd_unit: FAIL: no exposure score in systemd-analyze's output" >&2
	exit 1
fi
echo "exposure score: $score (must be below $max_exposure)"
if awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s >= m) }'; then
	echo "systemd_unit: FAIL: exposure $score is not below $max_exposure" >&2
	exit 1
fi
echo "systemd_unit: OK"
