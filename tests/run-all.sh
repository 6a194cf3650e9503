#!/usr/bin/env bash
# `npm test`: runs every suite (native C, Python, Node, browser), streams their output,
# and ends with one line "N passed, N failed" summed over all suites. Any failure -> exit 1.
set -uo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-/usr/bin/python3}
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
total_pass=0
total_fail=0
summary=()

# run_suite NAME KIND CMD... ; KIND says how to read the counts from the output.
run_suite() {
    local name=$1 kind=$2; shift 2
    local log="$logdir/$name.log" pass=0 fail=0
    echo "=== $name: $*"
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    case $kind in
        plain)  # "N passed, N failed" (our C runner)
            local line; line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
            pass=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line"); fail=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line") ;;
        unittest)  # "Ran N tests" then "OK" or "FAILED (failures=a, errors=b)"
            local ran; ran=$(grep -E '^Ran [0-9]+ test' "$log" | tail -n 1 | sed -E 's/^Ran ([0-9]+).*/\1/')
            local bad; bad=$(grep -E '^FAILED \(' "$log" | tail -n 1 | grep -oE '(failures|errors)=[0-9]+' | awk -F= '{s += $2} END {print s + 0}')
            local skip; skip=$(grep -E '^(OK|FAILED) \(.*skipped=' "$log" | tail -n 1 | grep -oE 'skipped=[0-9]+' | cut -d= -f2)
            fail=${bad:-0}; pass=$(( ${ran:-0} - fail - ${skip:-0} )) ;;
        nodetest)  # "# pass N" / "# fail N"
            pass=$(grep -E '^# pass [0-9]+' "$log" | tail -n 1 | awk '{print $3}')
            fail=$(grep -E '^# fail [0-9]+' "$log" | tail -n 1 | awk '{print $3}') ;;
    esac
    pass=${pass:-0}; fail=${fail:-0}
    # A suite that exits non-zero without reporting a failure (a crash, a build error) counts as one.
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
    total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
    summary+=("$(printf '%-10s %5d passed %4d failed' "$name" "$pass" "$fail")")
}

if [ ! -x build/native/test_runtime ]; then
    echo "build/native/test_runtime missing: run ./build.sh first" >&2
    total_fail=$((total_fail + 1)); summary+=("native     not built")
else
    run_suite native plain build/native/test_runtime tests/fixtures
fi
run_suite python unittest "$PY" -m unittest discover -s tests/python -t . -v
run_suite node nodetest node --test --test-reporter=tap tests/js/
if ls tests/browser/*.test.mjs >/dev/null 2>&1; then
    if command -v chromium >/dev/null 2>&1; then
        run_suite browser nodetest node --test --test-reporter=tap tests/browser/
    else
        echo "chromium not installed: browser tests skipped (.ci/run installs it)"
        summary+=("browser    skipped (no chromium)")
    fi
fi

echo
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
