#!/usr/bin/env bash
# The native test suite (build/native/test_runtime: golden fixtures, API, malformed buffers, the
# hostile corpus tests/fixtures/bad/, numerics, fuzz regressions) under AddressSanitizer +
# UndefinedBehaviorSanitizer (+ LeakSanitizer, + float-cast-overflow). Any report fails the run.
#
# Usage: scripts/sanitize.sh            (npm run sanitize; CI runs it on every submission)
# Builds build/sanitize/test_runtime with clang (or $CC; gcc works too) at -O1 -g, then runs it.
# Exit 0 only when every test passes and no sanitizer reported anything.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${CC:-}" ]; then
    if command -v clang >/dev/null 2>&1; then CC=clang; else CC=gcc; fi
fi
./scripts/fetch-cjson.sh >/dev/null
eval "$(sed -n '/^SRC=(/,/)/p;/^TESTS=(/,/)/p' build.sh)" # source lists: build.sh keeps them

out=build/sanitize
mkdir -p "$out"
SAN=(-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer)
# -Werror is build.sh's job; here warnings only print (clang warns where gcc does not)
FLAGS=(-std=c11 -O1 -g "${SAN[@]}")
echo "sanitize.sh: building $out/test_runtime ($CC ${SAN[*]})"
t0=$(date +%s)
"$CC" "${FLAGS[@]}" -w -c third_party/cjson/cJSON.c -o "$out/cJSON.o"
"$CC" "${FLAGS[@]}" -Wall -Wextra -Wno-format-zero-length -Isrc "${SRC[@]}" "${TESTS[@]}" "$out/cJSON.o" -lm -o "$out/test_runtime"
t1=$(date +%s)

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
set +e
"$out/test_runtime" tests/fixtures >"$out/test.log" 2>&1
rc=$?
set -e
t2=$(date +%s)
grep -E '^FAIL' "$out/test.log" || true
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/test.log" | tail -n 1 || true)
reports=$(grep -cE '^(==[0-9]+==ERROR|SUMMARY: (Address|UndefinedBehavior|Leak)Sanitizer)|runtime error:' "$out/test.log" || true)
echo "sanitize.sh: ${summary:-no summary line (crashed?)}; sanitizer reports: $reports; build $((t1 - t0)) s, run $((t2 - t1)) s (log: $out/test.log)"
if [ $rc -ne 0 ] || [ "$reports" -ne 0 ]; then
    grep -E -A 12 '==[0-9]+==ERROR|runtime error:' "$out/test.log" | head -n 60
    echo "sanitize.sh: FAILED (exit $rc)"
    exit 1
fi
echo "sanitize.sh: clean"
