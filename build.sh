#!/usr/bin/env bash
# Build the C runtime:
#   build/native/libinforcoef.a, build/native/test_runtime   portable native build (-O2, no -march)
#   build/native/bench_native                                  benchmark, -O3 -march=native
#   web/inforcoef.wasm                                         standalone SIMD128 WebAssembly module
#   build/wasm/bench.wasm                                      GEMM + SIMD peak kernels for bench/gemm*.mjs
#
# Usage: ./build.sh [--install] [--sanitize] [native|wasm|all]   (default: all)
#   --install   apt-get install the missing build packages first (needs root)
#   --sanitize  also build build/native-asan/test_runtime with -fsanitize=address,undefined
# cJSON 1.7.15 comes from Debian's source package (scripts/fetch-cjson.sh, cached in third_party/).
set -euo pipefail
cd "$(dirname "$0")"

install=0 sanitize=0 target=all rest=()
for arg in "$@"; do
    case $arg in
        --install) install=1; continue ;;
        --sanitize) sanitize=1 ;;
        native|wasm|all) target=$arg ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown argument '$arg' (see ./build.sh --help)" >&2; exit 2 ;;
    esac
    rest+=("$arg")
done

# emscripten 3.1.6 from Debian needs its node modules (acorn) on NODE_PATH.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

# ---- tools ----
CC=${CC:-}
if [ -z "$CC" ]; then
    if command -v gcc >/dev/null 2>&1; then CC=gcc; elif command -v clang >/dev/null 2>&1; then CC=clang; fi
fi
missing=() packages=()
want_native=0 want_wasm=0
case $target in native) want_native=1 ;; wasm) want_wasm=1 ;; all) want_native=1; want_wasm=1 ;; esac
if [ $want_native = 1 ] && [ -z "$CC" ]; then missing+=("a C compiler (gcc or clang)"); packages+=(gcc); fi
if [ $want_wasm = 1 ]; then
    command -v emcc >/dev/null 2>&1 || { missing+=("emcc (Debian package emscripten)"); packages+=(emscripten); }
    [ -e /usr/share/nodejs/acorn ] || { missing+=("acorn for emcc (Debian package node-acorn)"); packages+=(node-acorn); }
fi
# node >= 20 and npm: the module's import check here, and `npx inforcoef` after the build.
node_ok=0
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] && node_ok=1
if [ $node_ok = 0 ] && [ $install = 1 ]; then ./scripts/ensure-node.sh; export PATH=/usr/local/bin:$PATH; hash -r; node_ok=1; fi
[ $node_ok = 0 ] && [ $want_wasm = 1 ] && missing+=("node >= 20 and npm (./build.sh --install runs scripts/ensure-node.sh)")
if [ ! -f third_party/cjson/cJSON.c ]; then
    command -v apt-get >/dev/null 2>&1 || missing+=("apt-get (to fetch cJSON's Debian source package)")
    command -v dpkg-source >/dev/null 2>&1 || { missing+=("dpkg-source (Debian package dpkg-dev)"); packages+=(dpkg-dev); }
fi
if [ ${#missing[@]} -gt 0 ] && [ $install = 1 ] && [ ${#packages[@]} -gt 0 ]; then
    echo "build.sh: installing ${packages[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
    exec "$0" ${rest[@]+"${rest[@]}"}
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "build.sh: missing tools:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    [ ${#packages[@]} -gt 0 ] && echo "install them with: sudo apt-get install ${packages[*]}  (or ./build.sh --install)" >&2
    exit 1
fi

./scripts/fetch-cjson.sh

SRC=(src/errors.c src/clock.c src/safetensors.c src/config.c src/vocab.c src/weights.c src/gemm.c src/ops.c
     src/forward.c src/model.c src/wasm_exports.c)
TESTS=(tests/c/test_main.c tests/c/test_golden.c tests/c/test_api.c tests/c/test_malformed.c tests/c/test_bad_corpus.c
       tests/c/test_numerics.c)
WARN=(-std=c11 -Wall -Wextra -Werror)

# build_lib OUTDIR CFLAGS...: objects of src/ + cJSON into OUTDIR/libinforcoef.a
build_lib() {
    local out=$1; shift
    mkdir -p "$out/obj"
    local objs=()
    for f in "${SRC[@]}"; do
        local o="$out/obj/$(basename "${f%.c}").o"
        "$CC" "${WARN[@]}" "$@" -Isrc -c "$f" -o "$o"
        objs+=("$o")
    done
    # third-party code: built with the same flags minus -Werror
    "$CC" -std=c11 "$@" -w -c third_party/cjson/cJSON.c -o "$out/obj/cJSON.o"
    objs+=("$out/obj/cJSON.o")
    rm -f "$out/libinforcoef.a"
    ar rcs "$out/libinforcoef.a" "${objs[@]}"
}

if [ $want_native = 1 ]; then
    echo "build.sh: native ($CC)"
    build_lib build/native -O2
    "$CC" "${WARN[@]}" -O2 -Isrc "${TESTS[@]}" build/native/libinforcoef.a -lm -o build/native/test_runtime
    # the benchmark: this machine's full ISA, FMA contraction allowed
    build_lib build/native-bench -O3 -march=native -ffp-contract=fast
    "$CC" "${WARN[@]}" -O3 -march=native -ffp-contract=fast -D_POSIX_C_SOURCE=199309L -Isrc bench/native_bench.c \
        bench/gemm_cases.c build/native-bench/libinforcoef.a -lm -o build/native/bench_native
    if [ $sanitize = 1 ]; then
        echo "build.sh: native with -fsanitize=address,undefined"
        build_lib build/native-asan -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
        "$CC" "${WARN[@]}" -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -Isrc "${TESTS[@]}" \
            build/native-asan/libinforcoef.a -lm -o build/native-asan/test_runtime
    fi
fi

if [ $want_wasm = 1 ]; then
    echo "build.sh: wasm ($(emcc --version | head -n 1))"
    exports=(malloc free ifc_last_error ifc_model_load ifc_model_free ifc_classify ifc_set_threshold
             ifc_get_threshold ifc_num_layers ifc_num_labels ifc_max_length ifc_hidden_size ifc_stat_kept
             ifc_stat_ms ifc_stat_flops_f64 ifc_dense_flops_f64 ifc_stat_kept_positions ifc_token_id)
    list=$(printf '"_%s",' "${exports[@]}")
    # -mbulk-memory: memcpy/memset become memory.copy/memory.fill (one instruction, not a loop that
    # V8 first runs in its baseline tier: the 1.4 MB embedding table copied at load took ~20 ms).
    EMFLAGS=(-O3 -msimd128 -mbulk-memory --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1)
    # The runtime only (cold start, docs/benchmarks.md): V8 recompiles a wasm function with TurboFan,
    # in the background, once it has run long enough, and on a busy machine that competes with the
    # main thread. Binaryen by default inlines every function that has one caller, which folds the
    # whole loader (header parse, checks, repacking) into one 9 KB ifc_model_load that then gets
    # recompiled on every load; a 20-node limit keeps the loader's parts separate and its per-element
    # loops in small functions (src/weights.c, src/safetensors.c), so only those are recompiled
    # (warm classify speed unchanged, bench/warm-wasm.mjs). emmalloc: a smaller allocator than
    # dlmalloc (7 KB less wasm; load makes ~1,500 small allocations for the JSON header, classify none).
    RUNTIME_LINK=(-sMALLOC=emmalloc -sBINARYEN_EXTRA_PASSES=--one-caller-inline-max-function-size=20)
    mkdir -p build/wasm/obj web
    objs=()
    for f in "${SRC[@]}" bench/gemm_wasm.c bench/gemm_cases.c bench/gemm-direct.c; do
        o="build/wasm/obj/$(basename "${f%.c}").o"
        emcc "${WARN[@]}" -O3 -msimd128 -mbulk-memory -Isrc -c "$f" -o "$o"
        objs+=("$o")
    done
    emcc -std=c11 -O3 -msimd128 -mbulk-memory -w -c third_party/cjson/cJSON.c -o build/wasm/obj/cJSON.o
    lib=("${objs[@]:0:${#SRC[@]}}" build/wasm/obj/cJSON.o)
    emcc "${EMFLAGS[@]}" "${RUNTIME_LINK[@]}" --js-library src/wasm_imports.js "${lib[@]}" -sEXPORTED_FUNCTIONS="[${list%,}]" -o web/inforcoef.wasm
    # benchmark module: the same GEMM objects plus the peak kernels, never shipped; linked with the
    # runtime's link flags so that binaryen inlines the GEMM code as it does in web/inforcoef.wasm.
    # gemm-direct.o calls gemm_f32_packed as forward.c does (attention products).
    bench_exports=(malloc free bench_peak_f32x4 bench_peak_i16x8_dot bench_gemm_f32 bench_gemm_i8 direct_gemm_f32)
    list=$(printf '"_%s",' "${bench_exports[@]}")
    emcc "${EMFLAGS[@]}" "${RUNTIME_LINK[@]}" build/wasm/obj/gemm_wasm.o build/wasm/obj/gemm_cases.o build/wasm/obj/gemm-direct.o build/wasm/obj/gemm.o \
        -sEXPORTED_FUNCTIONS="[${list%,}]" -o build/wasm/bench.wasm
    node scripts/check-wasm-imports.mjs web/inforcoef.wasm build/wasm/bench.wasm
fi
echo "build.sh: done"
