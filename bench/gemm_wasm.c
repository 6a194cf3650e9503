/* Benchmark kernels compiled into build/wasm/bench.wasm (never shipped), timed by bench/gemm.mjs,
 * bench/gemm-efficiency.mjs and bench/kernel-lab.mjs: the SIMD128 ceilings of this engine + CPU for
 * the two instruction mixes a GEMM tile runs (the GEMM cases are in bench/gemm_cases.c and
 * bench/gemm-direct.c). Every value stays in registers: no loads, only the arithmetic.
 *   bench_peak_f32x4(iters, form, chains)      f32x4.mul + f32x4.add (SIMD128 has no FMA): 8 FLOPs
 *                                              per chain and iteration, the f32 tile's mix
 *   bench_peak_i16x8_dot(iters, form, chains)  i32x4.dot_i16x8_s + i32x4.add: 8 multiply-adds = 16
 *                                              ops per chain and iteration, the I8 tile's mix
 * in two forms, each with 8, 10, 12 or 14 independent chains:
 *   form 0: x = x * m + c             (x = x + dot(x, m)): the multiply is on the chain
 *   form 1: acc += x0|x1 * b, and b += c once per iteration (acc += dot(x0|x1, b)): as in a GEMM
 *           tile, only the add is on the chain (the one extra add per iteration is not counted)
 * Which reaches the ceiling depends on V8's code: too few chains and their latency limits them
 * (a multiply then an add: 6 cycles for f32 on this CPU), too many and V8 runs out of its 15 xmm
 * registers and spills; the same C compiled into another module can also come out differently.
 * bench/gemm-efficiency.mjs times all eight of each kind and takes the fastest as the peak. */
#include <wasm_simd128.h>

#define F32_STEP(x) x = wasm_f32x4_add(wasm_f32x4_mul(x, m), c)
#define DOT_STEP(x) x = wasm_i32x4_add(x, wasm_i32x4_dot_i16x8(x, m))
#define F32_ACC(j) a[j] = wasm_f32x4_add(a[j], wasm_f32x4_mul((j) & 1 ? x1 : x0, b))
#define DOT_ACC(j) a[j] = wasm_i32x4_add(a[j], wasm_i32x4_dot_i16x8((j) & 1 ? x1 : x0, b))

#define PEAK_F32(N)                                                                                 \
    static float peak_f32_##N(int iters) {                                                          \
        v128_t a[N];                                                                                \
        for (int j = 0; j < N; j++) a[j] = wasm_f32x4_splat(0.1f * (float)(j + 1));                 \
        const v128_t m = wasm_f32x4_splat(0.999999f), c = wasm_f32x4_splat(1e-6f);                  \
        for (int i = 0; i < iters; i++) {                                                           \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < N; j++) F32_STEP(a[j]);          \
        }                                                                                           \
        v128_t s = a[0];                                                                            \
        for (int j = 1; j < N; j++) s = wasm_f32x4_add(s, a[j]);                                    \
        return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 3);                       \
    }                                                                                               \
    static float peak_f32_acc_##N(int iters) {                                                      \
        v128_t a[N];                                                                                \
        for (int j = 0; j < N; j++) a[j] = wasm_f32x4_splat(0.1f * (float)(j + 1));                 \
        const v128_t x0 = wasm_f32x4_splat(0.5f), x1 = wasm_f32x4_splat(0.25f), c = wasm_f32x4_splat(1e-7f); \
        v128_t b = wasm_f32x4_splat(1.0f);                                                          \
        for (int i = 0; i < iters; i++) {                                                           \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < N; j++) F32_ACC(j);              \
            b = wasm_f32x4_add(b, c);                                                               \
        }                                                                                           \
        v128_t s = a[0];                                                                            \
        for (int j = 1; j < N; j++) s = wasm_f32x4_add(s, a[j]);                                    \
        return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 3);                       \
    }
#define PEAK_DOT(N)                                                                                 \
    static int peak_dot_##N(int iters) {                                                            \
        v128_t a[N];                                                                                \
        for (int j = 0; j < N; j++) a[j] = wasm_i32x4_splat(j + 1);                                 \
        const v128_t m = wasm_i16x8_splat(3);                                                       \
        for (int i = 0; i < iters; i++) {                                                           \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < N; j++) DOT_STEP(a[j]);          \
        }                                                                                           \
        v128_t s = a[0];                                                                            \
        for (int j = 1; j < N; j++) s = wasm_i32x4_add(s, a[j]);                                    \
        return wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 3);                       \
    }                                                                                               \
    static int peak_dot_acc_##N(int iters) {                                                        \
        v128_t a[N];                                                                                \
        for (int j = 0; j < N; j++) a[j] = wasm_i32x4_splat(j + 1);                                 \
        const v128_t x0 = wasm_i16x8_splat(3), x1 = wasm_i16x8_splat(5), c = wasm_i16x8_splat(1);   \
        v128_t b = wasm_i16x8_splat(7);                                                             \
        for (int i = 0; i < iters; i++) {                                                           \
            _Pragma("clang loop unroll(full)") for (int j = 0; j < N; j++) DOT_ACC(j);              \
            b = wasm_i16x8_add(b, c);                                                               \
        }                                                                                           \
        v128_t s = a[0];                                                                            \
        for (int j = 1; j < N; j++) s = wasm_i32x4_add(s, a[j]);                                    \
        return wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 3);                       \
    }
PEAK_F32(8) PEAK_F32(10) PEAK_F32(12) PEAK_F32(14)
PEAK_DOT(8) PEAK_DOT(10) PEAK_DOT(12) PEAK_DOT(14)

/* Return a checksum so that nothing is optimised away (-1: no such variant). */
float bench_peak_f32x4(int iters, int form, int chains);
float bench_peak_f32x4(int iters, int form, int chains) {
    switch (form * 100 + chains) {
        case 8: return peak_f32_8(iters);
        case 10: return peak_f32_10(iters);
        case 12: return peak_f32_12(iters);
        case 14: return peak_f32_14(iters);
        case 108: return peak_f32_acc_8(iters);
        case 110: return peak_f32_acc_10(iters);
        case 112: return peak_f32_acc_12(iters);
        case 114: return peak_f32_acc_14(iters);
        default: return -1.0f;
    }
}

int bench_peak_i16x8_dot(int iters, int form, int chains);
int bench_peak_i16x8_dot(int iters, int form, int chains) {
    switch (form * 100 + chains) {
        case 8: return peak_dot_8(iters);
        case 10: return peak_dot_10(iters);
        case 12: return peak_dot_12(iters);
        case 14: return peak_dot_14(iters);
        case 108: return peak_dot_acc_8(iters);
        case 110: return peak_dot_acc_10(iters);
        case 112: return peak_dot_acc_12(iters);
        case 114: return peak_dot_acc_14(iters);
        default: return -1;
    }
}
