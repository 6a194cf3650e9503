/* Attention-shaped products for bench/gemm-efficiency.mjs, linked with the runtime's own src/gemm.c
 * and the GEMM cases of bench/gemm_cases.c into build/bench/gemm-direct.wasm (never shipped).
 *
 * Why a second module next to build/wasm/bench.wasm: in bench.wasm gemm_f32_packed has a single
 * caller (linear_forward), so binaryen's optimiser inlines it there, and V8's register allocator
 * then keeps the tile's accumulators on the stack (measured: about half the GFLOP/s). In the shipped
 * web/inforcoef.wasm gemm_f32_packed has two callers (linear_forward and the attention products of
 * src/forward.c) and stays a function of its own, with every accumulator in a register. This file
 * is that second caller, so the cases of gemm_cases.c run the code the runtime runs.
 *
 *   direct_gemm_f32(n, out, k, reps)   y[n, out] = x[n, k] . panel, gemm_f32_packed called directly
 *                                      (as forward.c does for scores and context), no bias */
#include <stdlib.h>

#include "ifc_internal.h"

float direct_gemm_f32(int n, int out, int k, int reps);
float direct_gemm_f32(int n, int out, int k, int reps) {
    const size_t nw = packed_f32_floats(out, k);
    float *x = malloc(sizeof(float) * (size_t)n * k), *y = malloc(sizeof(float) * (size_t)n * out),
          *w = malloc(sizeof(float) * nw);
    if (!x || !y || !w) return -1.0f;
    uint32_t s = 7;
    for (size_t i = 0; i < (size_t)n * k; i++) { s = s * 1664525u + 1013904223u; x[i] = (float)(s >> 8) / 16777216.0f - 0.5f; }
    for (size_t i = 0; i < nw; i++) { s = s * 1664525u + 1013904223u; w[i] = (float)(s >> 8) / 16777216.0f - 0.5f; }
    for (int r = 0; r < reps; r++) gemm_f32_packed(n, out, k, x, k, w, NULL, y, out);
    const float check = y[0];
    free(x); free(y); free(w);
    return check;
}
