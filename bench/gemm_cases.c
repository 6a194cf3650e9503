/* GEMM benchmark cases shared by the wasm benchmark module (build/wasm/bench.wasm) and the native
 * benchmark (build/native/bench_native): the runtime's own linear_forward (src/gemm.c) on an
 * [n, k] x [out, k]^T problem, `reps` times. Weights are filled with arbitrary values: only the
 * shapes matter for throughput. Each returns y[0][0] as a checksum (and -1 if out of memory). */
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

float bench_gemm_f32(int n, int out, int k, int reps) {
    ifc_linear l;
    memset(&l, 0, sizeof l);
    l.kind = IFC_LIN_F32;
    l.out = out;
    l.in = k;
    size_t nw = packed_f32_floats(out, k);
    float *x = malloc(sizeof(float) * (size_t)n * k), *y = malloc(sizeof(float) * (size_t)n * out);
    l.wf = malloc(sizeof(float) * nw);
    l.bias = calloc((size_t)out, sizeof(float));
    if (!x || !y || !l.wf || !l.bias) return -1.0f;
    fill(x, (size_t)n * k);
    fill(l.wf, nw);
    for (int r = 0; r < reps; r++) linear_forward(&l, n, x, k, y, out, NULL, NULL);
    float check = y[0];
    free(x); free(y); free(l.wf); free(l.bias);
    return check;
}

float bench_gemm_i8(int n, int out, int k, int reps) {
    ifc_linear l;
    memset(&l, 0, sizeof l);
    l.kind = IFC_LIN_I8;
    l.out = out;
    l.in = k;
    l.in_pad = k + (k & 1);
    long long q = 2147483647LL / (128LL * l.in_pad);
    l.qmax = (int)(q < 32767 ? q : 32767);
    size_t pout = (size_t)(out + IFC_NR - 1) / IFC_NR * IFC_NR;
    float *x = malloc(sizeof(float) * (size_t)n * k), *y = malloc(sizeof(float) * (size_t)n * out);
    int16_t *xq = malloc(sizeof(int16_t) * (size_t)n * l.in_pad);
    float *xs = malloc(sizeof(float) * (size_t)n);
    l.wq = malloc(pout * (size_t)l.in_pad);
    l.scale = malloc(sizeof(float) * pout);
    l.bias = calloc((size_t)out, sizeof(float));
    if (!x || !y || !xq || !xs || !l.wq || !l.scale || !l.bias) return -1.0f;
    fill(x, (size_t)n * k);
    fill(l.scale, pout);
    for (size_t i = 0; i < pout * (size_t)l.in_pad; i++) l.wq[i] = (int8_t)((i * 37) % 255 - 127);
    for (int r = 0; r < reps; r++) linear_forward(&l, n, x, k, y, out, xq, xs);
    float check = y[0];
    free(x); free(y); free(xq); free(xs); free(l.wq); free(l.scale); free(l.bias);
    return check;
}
