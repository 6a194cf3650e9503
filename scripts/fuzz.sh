#!/usr/bin/env bash
# Build and run the libFuzzer targets of fuzz/ (fuzz/README.md, docs/reliability.md):
#   fuzz_load    any bytes as a model file -> ifc_model_load -> two forward passes
#   fuzz_model   structure-aware: valid random models (fuzz/model_gen.h) and their properties
#
# Usage: scripts/fuzz.sh [--seconds N] [--runs N] [--target load|model|all] [--max-len N]
#        npm run fuzz -- --seconds N
#   --seconds N   time per target (default 60)
#   --runs N      stop a target after N executions (whichever of --seconds / --runs comes first)
#   --target T    load, model or all (default all)
#   --max-len N   longest input fuzz_load builds (default 8192: the tests/fixtures/bad models fit
#                 whole and run ~40x faster than the 20-136 KB golden fixtures, which are seeds too
#                 but are cut to N bytes; pass 140000 to mutate those whole)
# Built with clang -fsanitize=fuzzer,address,undefined into build/fuzz/ (rebuilt when a source
# changed). Runs at nice 10 on one core. The corpus grows in build/fuzz/corpus/<target>/ across
# runs; a crash leaves its input in build/fuzz/artifacts/<target>/ and exits 1: fix it, then keep
# the input as a regression test in fuzz/regressions/ (replayed by build/native/test_runtime).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60 runs=-1 target=all max_len=8192
while [ $# -gt 0 ]; do
    case $1 in
        --seconds) seconds=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --target) target=$2; shift 2 ;;
        --max-len) max_len=$2; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown argument '$1' (see scripts/fuzz.sh --help)" >&2; exit 2 ;;
    esac
done
case $target in load) targets=(load) ;; model) targets=(model) ;; all) targets=(load model) ;;
    *) echo "fuzz.sh: --target must be load, model or all" >&2; exit 2 ;; esac

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "fuzz.sh: $CC not found (Debian: apt-get install clang)" >&2; exit 1
fi
mkdir -p build/fuzz
probe=build/fuzz/probe.c
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' > "$probe"
if ! "$CC" -fsanitize=fuzzer,address,undefined "$probe" -o build/fuzz/probe 2>/dev/null; then
    echo "fuzz.sh: $CC cannot link -fsanitize=fuzzer: libFuzzer's runtime is missing" >&2
    echo "  Debian bookworm with clang 14: apt-get install libclang-rt-14-dev" >&2
    exit 1
fi
rm -f "$probe" build/fuzz/probe

./scripts/fetch-cjson.sh >/dev/null
eval "$(sed -n '/^SRC=(/,/)/p' build.sh)" # the runtime's source list, from the one place it is kept
FLAGS=(-std=c11 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)

for t in "${targets[@]}"; do
    bin=build/fuzz/fuzz_$t
    if [ ! -x "$bin" ] || [ -n "$(find src fuzz third_party/cjson build.sh -newer "$bin" -type f | head -n 1)" ]; then
        echo "fuzz.sh: building $bin"
        "$CC" "${FLAGS[@]}" -Wall -Wextra -Isrc "${SRC[@]}" "fuzz/fuzz_$t.c" -x c -w third_party/cjson/cJSON.c -lm -o "$bin"
    fi
done

status=0
for t in "${targets[@]}"; do
    corpus=build/fuzz/corpus/$t artifacts=build/fuzz/artifacts/$t log=build/fuzz/$t.log
    mkdir -p "$corpus" "$artifacts"
    args=(-max_total_time="$seconds" -runs="$runs" -timeout=20 -rss_limit_mb=3072 -print_final_stats=1
          -artifact_prefix="$artifacts/")
    seeds=()
    if [ "$t" = load ]; then
        args+=(-max_len="$max_len" -dict=fuzz/model.dict)
        seeds=(tests/fixtures tests/fixtures/bad)
        [ -d fuzz/regressions ] && seeds+=(fuzz/regressions)
    fi
    echo "fuzz.sh: fuzz_$t for up to ${seconds}s$([ "$runs" != -1 ] && echo " / $runs runs") (log: $log)"
    set +e
    nice -n 10 "build/fuzz/fuzz_$t" "${args[@]}" "$corpus" ${seeds[@]+"${seeds[@]}"} >"$log" 2>&1
    rc=$?
    set -e
    grep -E '^#[0-9]+[[:space:]]+pulse' "$log" | tail -n 3 || true
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    elapsed=$(grep -E '^Done [0-9]+ runs in' "$log" | sed -E 's/^Done [0-9]+ runs in ([0-9]+) second.*/\1/')
    if [ $rc -eq 0 ]; then
        echo "fuzz_$t: ${execs:-?} executions in ${elapsed:-?} s, no finding (corpus: $(ls "$corpus" | wc -l) inputs)"
    else
        status=1
        echo "fuzz_$t: FINDING (exit $rc) after ${execs:-?} executions:"
        grep -E 'ERROR|SUMMARY|fuzz_(load|model):|Test unit written' "$log" | head -n 20
        echo "  fix it, then: cp $artifacts/<crash file> fuzz/regressions/ (and rerun build/native/test_runtime)"
    fi
done
exit $status
