#!/usr/bin/env bash
# The native test suite under valgrind memcheck: invalid reads/writes, uses of uninitialised
# values, and leaks (definite and indirect) are errors, and any error fails the run.
#
# Usage: scripts/valgrind.sh           (npm run valgrind)
#        IFC_TEST_QUICK=1 scripts/valgrind.sh   reduced mode: 40 random models instead of 300
#        VALGRIND_ORIGINS=1 scripts/valgrind.sh track where uninitialised values come from (slower)
# Builds build/valgrind/test_runtime with gcc (or $CC) at -O1 -g and the portable ISA (valgrind
# does not run AVX-512), no sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind.sh: valgrind not found (Debian: apt-get install valgrind)" >&2; exit 1
fi
CC=${CC:-gcc}
./scripts/fetch-cjson.sh >/dev/null
eval "$(sed -n '/^SRC=(/,/)/p;/^TESTS=(/,/)/p' build.sh)"

out=build/valgrind
mkdir -p "$out"
echo "valgrind.sh: building $out/test_runtime ($CC -O1 -g)"
"$CC" -std=c11 -O1 -g -w -c third_party/cjson/cJSON.c -o "$out/cJSON.o"
"$CC" -std=c11 -O1 -g -Wall -Wextra -Isrc "${SRC[@]}" "${TESTS[@]}" "$out/cJSON.o" -lm -o "$out/test_runtime"

vg=(valgrind --tool=memcheck --error-exitcode=1 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --read-var-info=no --log-file="$out/valgrind.log")
[ -n "${VALGRIND_ORIGINS:-}" ] && vg+=(--track-origins=yes)
echo "valgrind.sh: running the suite under memcheck${IFC_TEST_QUICK:+ (reduced: IFC_TEST_QUICK)}"
t0=$(date +%s)
set +e
"${vg[@]}" "$out/test_runtime" tests/fixtures >"$out/test.log" 2>&1
rc=$?
set -e
t1=$(date +%s)
grep -E '^FAIL' "$out/test.log" || true
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/test.log" | tail -n 1 || true)
errors=$(grep -E 'ERROR SUMMARY' "$out/valgrind.log" | tail -n 1 | sed -E 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/' || true)
leaks=$(grep -E 'definitely lost:|indirectly lost:' "$out/valgrind.log" | sed -E 's/^==[0-9]+== +//' | tr '\n' ' ' || true)
echo "valgrind.sh: ${summary:-no summary line (crashed?)}; memcheck errors: ${errors:-?}; ${leaks:-no leaks}; $((t1 - t0)) s (logs: $out/test.log, $out/valgrind.log)"
if [ $rc -ne 0 ] || [ "${errors:-1}" != 0 ]; then
    grep -E -B 2 -A 14 'Invalid|uninitialised|definitely lost in' "$out/valgrind.log" | head -n 80
    echo "valgrind.sh: FAILED (exit $rc)"
    exit 1
fi
echo "valgrind.sh: clean"
