#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clang's static analyzer over the daemon, the client library, the CLI and
# the shared code (not the tests): every file compiled as the build compiles
# it; any finding fails.
#   scripts/analyze.sh [BUILD_DIR]      (default build-analyze)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-analyze}
mkdir -p "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DIIOSTREAM_TESTS=OFF \
	-DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$dir/configure.log" 2>&1 ||
	{ cat "$dir/configure.log"; exit 1; }
# the generated protocol code must exist before it is included
cmake --build "$dir" -j"$(nproc)" --target iios_common >/dev/null
/usr/bin/python3 - "$dir/compile_commands.json" >"$dir/analyze-commands.sh" <<'PY'
import json, shlex, sys
for c in json.load(open(sys.argv[1])):
    f = c["file"]
    if "/tests/" in f or "/bench/" in f or f.endswith(".pb-c.c") or not f.endswith(".c"):
        continue
    args = shlex.split(c["command"])
    keep = []
    for i, a in enumerate(args):
        if a.startswith(("-I", "-D")) and len(a) > 2:
            keep.append(a)
        elif a in ("-isystem", "-I", "-D"):
            keep += [a, args[i + 1]]
    print(shlex.join(["clang", "--analyze", "-Xanalyzer", "-analyzer-output=text",
                      "-std=gnu11", *keep, f, "-o", "/dev/null"]))
PY
n=$(wc -l <"$dir/analyze-commands.sh")
bash "$dir/analyze-commands.sh" >"$dir/analyze.log" 2>&1 || true
if grep -q "warning:" "$dir/analyze.log"; then
	grep -A40 "warning:" "$dir/analyze.log" | head -200
	echo "analyze: clang --analyze found the above in $n files"
	exit 1
fi
echo "analyze: clang --analyze: $n files, no findings"
