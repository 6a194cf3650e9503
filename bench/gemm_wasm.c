/* Benchmark kernels compiled into build/wasm/bench.wasm (never shipped), timed by bench/gemm.mjs:
 *   bench_peak_f32x4   pure f32x4 mul+add throughput: the SIMD128 ceiling of this engine + CPU
 * (the GEMM cases are in bench/gemm_cases.c, shared with the native benchmark) */
#include <wasm_simd128.h>

/* 12 independent accumulators (V8 gives wasm 16 xmm registers): each iteration does 12 f32x4
 * multiplies and 12 f32x4 adds = 96 FLOPs. Returns a checksum so nothing is optimised away. */
float bench_peak_f32x4(int iters);
float bench_peak_f32x4(int iters) {
    v128_t a0 = wasm_f32x4_splat(0.1f), a1 = wasm_f32x4_splat(0.2f), a2 = wasm_f32x4_splat(0.3f),
           a3 = wasm_f32x4_splat(0.4f), a4 = wasm_f32x4_splat(0.5f), a5 = wasm_f32x4_splat(0.6f),
           a6 = wasm_f32x4_splat(0.7f), a7 = wasm_f32x4_splat(0.8f), a8 = wasm_f32x4_splat(0.9f),
           a9 = wasm_f32x4_splat(1.0f), a10 = wasm_f32x4_splat(1.1f), a11 = wasm_f32x4_splat(1.2f);
    const v128_t m = wasm_f32x4_splat(0.999999f), c = wasm_f32x4_splat(1e-6f);
#define STEP(x) x = wasm_f32x4_add(wasm_f32x4_mul(x, m), c)
    for (int i = 0; i < iters; i++) {
        STEP(a0); STEP(a1); STEP(a2); STEP(a3); STEP(a4); STEP(a5);
        STEP(a6); STEP(a7); STEP(a8); STEP(a9); STEP(a10); STEP(a11);
    }
#undef STEP
    v128_t s = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(a0, a1), wasm_f32x4_add(a2, a3)),
                              wasm_f32x4_add(wasm_f32x4_add(a4, a5), wasm_f32x4_add(a6, a7)));
    s = wasm_f32x4_add(s, wasm_f32x4_add(wasm_f32x4_add(a8, a9), wasm_f32x4_add(a10, a11)));
    return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 3);
}
