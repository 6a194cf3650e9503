/* Attention-shaped products for bench/gemm-efficiency.mjs, linked with the runtime's own src/gemm.c
 * and the GEMM cases of bench/gemm_cases.c into build/wasm/bench.wasm (never shipped).
 *
 *   direct_gemm_f32(n, out, k, reps)   y[n, out] = x[n, k] . panel, gemm_f32_packed called directly
 *                                      (as forward.c does for scores and context), no bias
 *
 * It is also gemm_f32_packed's second caller in bench.wasm, as forward.c is in web/inforcoef.wasm
 * (binaryen inlines a function into its single caller, and once did so here, not in the runtime:
 * bench.wasm then measured about half the runtime's GFLOP/s). As in bench/gemm_cases.c, the
 * problem is set up on the first call for a shape and reused while the shape stays the same, so
 * timed calls are GEMM only. */
#include <stdlib.h>

#include "ifc_internal.h"

static struct { int n, out, k; float *x, *y, *w; } cur;

float direct_gemm_f32(int n, int out, int k, int reps);
float direct_gemm_f32(int n, int out, int k, int reps) {
    if (!(cur.w && cur.n == n && cur.out == out && cur.k == k)) {
        free(cur.x); free(cur.y); free(cur.w);
        cur.n = n; cur.out = out; cur.k = k;
        const size_t nw = packed_f32_floats(out, k);
        cur.x = malloc(sizeof(float) * (size_t)n * k);
        cur.y = malloc(sizeof(float) * (size_t)n * out);
        cur.w = malloc(sizeof(float) * nw);
        if (!cur.x || !cur.y || !cur.w) {
            free(cur.x); free(cur.y); free(cur.w);
            cur.x = cur.y = cur.w = NULL;
            return -1.0f;
        }
        uint32_t s = 7;
        for (size_t i = 0; i < (size_t)n * k; i++) { s = s * 1664525u + 1013904223u; cur.x[i] = (float)(s >> 8) / 16777216.0f - 0.5f; }
        for (size_t i = 0; i < nw; i++) { s = s * 1664525u + 1013904223u; cur.w[i] = (float)(s >> 8) / 16777216.0f - 0.5f; }
    }
    for (int r = 0; r < reps; r++) gemm_f32_packed(n, out, k, cur.x, k, cur.w, NULL, cur.y, out);
    return cur.y[0];
}
