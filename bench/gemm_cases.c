/* GEMM benchmark cases shared by the wasm benchmark module (build/wasm/bench.wasm) and the native
 * benchmark (build/native/bench_native): the runtime's own linear_forward (src/gemm.c) on an
 * [n, k] x [out, k]^T problem, `reps` times. Weights are filled with arbitrary values: only the
 * shapes matter for throughput. Each returns y[0][0] as a checksum (and -1 if out of memory).
 *
 * The problem (weights, activations, scratch) is set up on the first call for a shape and kept
 * for the next calls with the same shape, so that a timed call is GEMM only: allocating and filling
 * a [1024 x 256] weight matrix takes longer than a GEMM on 8 rows of it, and counting it once per
 * timed call under-reported small-n shapes by 10-40%. */
#include <stdlib.h>
#include <string.h>

#include "ifc_internal.h"

float bench_gemm_f32(int n, int out, int k, int reps);
float bench_gemm_i8(int n, int out, int k, int reps);

static void fill(float *p, size_t n) {
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((int)(s >> 9) - (1 << 22)) / (float)(1 << 24);
    }
}

/* The problem of the last call. */
static struct {
    ifc_linear_kind kind;
    int n, out, k, ready;
    ifc_linear l;
    float *x, *y, *xs;
    int16_t *xq;
} cur;

static void drop(void) {
    free(cur.x); free(cur.y); free(cur.xs); free(cur.xq);
    free(cur.l.wf); free(cur.l.wq); free(cur.l.scale); free(cur.l.bias);
    memset(&cur, 0, sizeof cur);
}

/* Sets up the problem unless it is the current one; 0 if out of memory. */
static int setup(ifc_linear_kind kind, int n, int out, int k) {
    if (cur.ready && cur.kind == kind && cur.n == n && cur.out == out && cur.k == k) return 1;
    drop();
    cur.kind = kind; cur.n = n; cur.out = out; cur.k = k;
    ifc_linear *l = &cur.l;
    l->kind = kind;
    l->out = out;
    l->in = k;
    cur.x = malloc(sizeof(float) * (size_t)n * k);
    cur.y = malloc(sizeof(float) * (size_t)n * out);
    l->bias = calloc((size_t)out, sizeof(float));
    if (!cur.x || !cur.y || !l->bias) return 0;
    fill(cur.x, (size_t)n * k);
    if (kind == IFC_LIN_F32) {
        size_t nw = packed_f32_floats(out, k);
        if (!(l->wf = malloc(sizeof(float) * nw))) return 0;
        fill(l->wf, nw);
    } else {
        l->in_pad = k + (k & 1);
        long long q = 2147483647LL / (128LL * l->in_pad);
        l->qmax = (int)(q < 32767 ? q : 32767);
        size_t pout = (size_t)(out + IFC_NR - 1) / IFC_NR * IFC_NR;
        cur.xq = malloc(sizeof(int16_t) * (size_t)n * l->in_pad);
        cur.xs = malloc(sizeof(float) * (size_t)n);
        l->wq = malloc(pout * (size_t)l->in_pad);
        l->scale = malloc(sizeof(float) * pout);
        if (!cur.xq || !cur.xs || !l->wq || !l->scale) return 0;
        fill(l->scale, pout);
        for (size_t i = 0; i < pout * (size_t)l->in_pad; i++) l->wq[i] = (int8_t)((i * 37) % 255 - 127);
    }
    cur.ready = 1;
    return 1;
}

float bench_gemm_f32(int n, int out, int k, int reps) {
    if (!setup(IFC_LIN_F32, n, out, k)) { drop(); return -1.0f; }
    for (int r = 0; r < reps; r++) linear_forward(&cur.l, n, cur.x, k, cur.y, out, NULL, NULL);
    return cur.y[0];
}

float bench_gemm_i8(int n, int out, int k, int reps) {
    if (!setup(IFC_LIN_I8, n, out, k)) { drop(); return -1.0f; }
    for (int r = 0; r < reps; r++) linear_forward(&cur.l, n, cur.x, k, cur.y, out, cur.xq, cur.xs);
    return cur.y[0];
}
