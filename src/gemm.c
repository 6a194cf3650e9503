/* GEMM on packed weights: y[n, out] = x[n, k] W[out, k]^T + b.
 *
 * Weights are packed at load into panels of IFC_NR output columns, k-major (ifc_internal.h), so
 * the inner loop reads one contiguous NR-wide row of the panel per k. The output is computed in
 * MR x NR register tiles: per k, MR broadcasts of x times NR/4 weight vectors, MR*NR/4 mul+add.
 * With MR = 4, NR = 8 that is 8 f32x4 accumulators + 2 weight vectors + 1 broadcast, inside the
 * 16 SIMD registers of x86-64 (V8 maps wasm v128 onto xmm). Rows are processed in blocks sized
 * so that the x rows of a block stay in L2 while every panel streams past them once.
 *
 * Two implementations of each tile: WebAssembly SIMD128 intrinsics (__wasm_simd128__) and a
 * native one on GNU C vector types (gcc, clang), with a scalar fallback for other compilers.
 * Plain C arrays were tried first for the native tile, but gcc 12 did not keep them in registers:
 * 4-7 GFLOP/s at -O2/-O3 -march=native against 115 GFLOP/s for the vector-type tile (AVX-512,
 * MR 8 x NR 16, n=128 out=1024 k=256, on this machine's shared cores).
 *
 * I8 weights: x rows are quantised to int16 per row (scale = max|x| / qmax), W is int8 with a
 * per-output-row scale, and pairs of k are multiplied and summed in i32 by i32x4.dot_i16x8_s.
 * qmax is chosen per layer so that the i32 sums cannot overflow (see load_linear). */
#include <math.h>
#include <string.h>

#include "ifc_internal.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

/* Rows per register tile (MR) and, natively, the vector width. MR x NR accumulators + the
 * weight vectors of one k + one broadcast must fit the register file (16 on x86-64 without
 * AVX-512, 32 with it). */
#if defined(__wasm_simd128__)
#define MR 4            /* 4 x 2 f32x4; 5 and 6 measured slower in Node 20 */
#elif defined(__AVX512F__)
#define MR 8            /* 8 x 1 zmm */
#define VEC_BYTES 64
#elif defined(__AVX__)
#define MR 4            /* 4 x 2 ymm */
#define VEC_BYTES 32
#else
#define MR 6            /* 6 x 2 xmm (SSE2, the portable build) */
#define VEC_BYTES 16
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

/* Rows per cache block: keep x[block, k] around 128 KiB. */
static int row_block(int k) {
    int rb = 32768 / (k > 0 ? k : 1);
    rb -= rb % MR;
    return rb < MR ? MR : rb;
}

/* ---- f32 tile: y[mr, ncols] = x[mr, k] . panel[k, NR] (+ bias) ---- */

#if defined(__wasm_simd128__)
static ALWAYS_INLINE void tile_f32(const int mr, int k, const float *x, int ldx, const float *w,
                                   const float *bias, float *y, int ldy, int ncols) {
    v128_t acc[MR][2];
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
    for (int kk = 0; kk < k; kk++) {
        const v128_t b0 = wasm_v128_load(w + (size_t)kk * 8);
        const v128_t b1 = wasm_v128_load(w + (size_t)kk * 8 + 4);
        for (int r = 0; r < mr; r++) {
            const v128_t a = wasm_v128_load32_splat(x + (size_t)r * ldx + kk);
            acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(a, b0));
            acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(a, b1));
        }
    }
    if (bias && ncols == 8) {
        const v128_t c0 = wasm_v128_load(bias), c1 = wasm_v128_load(bias + 4);
        for (int r = 0; r < mr; r++) {
            acc[r][0] = wasm_f32x4_add(acc[r][0], c0);
            acc[r][1] = wasm_f32x4_add(acc[r][1], c1);
        }
    }
    for (int r = 0; r < mr; r++) {
        float *yr = y + (size_t)r * ldy;
        if (ncols == 8) {
            wasm_v128_store(yr, acc[r][0]);
            wasm_v128_store(yr + 4, acc[r][1]);
        } else {
            float tmp[8];
            wasm_v128_store(tmp, acc[r][0]);
            wasm_v128_store(tmp + 4, acc[r][1]);
            for (int c = 0; c < ncols; c++) yr[c] = tmp[c] + (bias ? bias[c] : 0.0f);
        }
    }
}
#elif defined(__GNUC__) || defined(__clang__)
#define NV (IFC_NR * 4 / VEC_BYTES) /* vectors per tile row */
typedef float vfloat __attribute__((vector_size(VEC_BYTES)));
static ALWAYS_INLINE void tile_f32(const int mr, int k, const float *x, int ldx, const float *w,
                                   const float *bias, float *y, int ldy, int ncols) {
    vfloat acc[MR][NV];
    memset(acc, 0, sizeof acc);
    for (int kk = 0; kk < k; kk++) {
        vfloat b[NV];
        memcpy(b, w + (size_t)kk * IFC_NR, sizeof b); /* unaligned-safe load */
        for (int r = 0; r < mr; r++) {
            const float a = x[(size_t)r * ldx + kk];
            for (int v = 0; v < NV; v++) acc[r][v] += a * b[v];
        }
    }
    for (int r = 0; r < mr; r++) {
        float tmp[IFC_NR], *yr = y + (size_t)r * ldy;
        memcpy(tmp, acc[r], sizeof tmp);
        for (int c = 0; c < ncols; c++) yr[c] = tmp[c] + (bias ? bias[c] : 0.0f);
    }
}
#else
static void tile_f32(const int mr, int k, const float *x, int ldx, const float *w, const float *bias, float *y,
                     int ldy, int ncols) {
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < ncols; c++) {
            float s = 0.0f;
            for (int kk = 0; kk < k; kk++) s += x[(size_t)r * ldx + kk] * w[(size_t)kk * IFC_NR + c];
            y[(size_t)r * ldy + c] = s + (bias ? bias[c] : 0.0f);
        }
}
#endif

void gemm_f32_packed(int n, int out, int k, const float *x, int ldx, const float *wp,
                     const float *bias, float *y, int ldy) {
    const int rb = row_block(k);
    for (int r0 = 0; r0 < n; r0 += rb) {
        const int r1 = n < r0 + rb ? n : r0 + rb;
        for (int c0 = 0; c0 < out; c0 += IFC_NR) {
            const float *w = wp + (size_t)(c0 / IFC_NR) * (size_t)k * IFC_NR;
            const float *b = bias ? bias + c0 : NULL;
            const int ncols = out - c0 < IFC_NR ? out - c0 : IFC_NR;
            int r = r0;
            for (; r + MR <= r1; r += MR)
                tile_f32(MR, k, x + (size_t)r * ldx, ldx, w, b, y + (size_t)r * ldy + c0, ldy, ncols);
            /* the last r1 - r < MR rows: a constant mr per call, so each tile stays in registers */
#define TAIL(m) case m: if ((m) < MR) tile_f32(m, k, x + (size_t)r * ldx, ldx, w, b, y + (size_t)r * ldy + c0, ldy, ncols); break;
            switch (r1 - r) { TAIL(1) TAIL(2) TAIL(3) TAIL(4) TAIL(5) TAIL(6) TAIL(7) default: break; }
#undef TAIL
        }
    }
}

size_t packed_f32_floats(int out, int in) {
    return (size_t)((out + IFC_NR - 1) / IFC_NR) * IFC_NR * (size_t)in;
}

void pack_f32_panels(float *dst, const float *src, int out, int in, size_t stride_c, size_t stride_k) {
    for (int c0 = 0; c0 < out; c0 += IFC_NR) {
        float *panel = dst + (size_t)(c0 / IFC_NR) * (size_t)in * IFC_NR;
        const int ncols = out - c0 < IFC_NR ? out - c0 : IFC_NR;
        for (int k = 0; k < in; k++) {
            float *row = panel + (size_t)k * IFC_NR;
            const float *s = src + (size_t)c0 * stride_c + (size_t)k * stride_k;
            int c = 0;
            for (; c < ncols; c++) row[c] = s[(size_t)c * stride_c];
            for (; c < IFC_NR; c++) row[c] = 0.0f;
        }
    }
}

/* ---- I8: quantise activations, then the i16 dot-product tile ---- */

/* xq[r][0..k_pad) = round(x[r][k] * qmax / max|x[r]|), zero past k; xs[r] = max|x[r]| / qmax. */
static void quantize_rows(int n, int k, int k_pad, int qmax, const float *x, int ldx, int16_t *xq, float *xs) {
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * ldx;
        int16_t *qr = xq + (size_t)r * k_pad;
        float amax = 0.0f;
        for (int i = 0; i < k; i++) {
            float a = fabsf(xr[i]);
            amax = a > amax ? a : amax;
        }
        const float inv = amax > 0.0f ? (float)qmax / amax : 0.0f;
        xs[r] = amax > 0.0f ? amax / (float)qmax : 0.0f;
        int i = 0;
#if defined(__wasm_simd128__)
        const v128_t vinv = wasm_f32x4_splat(inv);
        for (; i + 8 <= k; i += 8) {
            v128_t lo = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(xr + i), vinv)));
            v128_t hi = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_nearest(wasm_f32x4_mul(wasm_v128_load(xr + i + 4), vinv)));
            wasm_v128_store(qr + i, wasm_i16x8_narrow_i32x4(lo, hi));
        }
#endif
        for (; i < k; i++) {
            float v = xr[i] * inv;
            /* |v| <= qmax for finite input; inf/NaN from a hostile file must not reach the cast */
            v = (v >= -(float)qmax && v <= (float)qmax) ? v : (v > 0.0f ? (float)qmax : (v < 0.0f ? -(float)qmax : 0.0f));
            qr[i] = (int16_t)(v >= 0.0f ? (int)(v + 0.5f) : -(int)(-v + 0.5f));
        }
        for (; i < k_pad; i++) qr[i] = 0;
    }
}

#if defined(__wasm_simd128__)
static ALWAYS_INLINE void tile_i8(const int mr, int k_pad, const int16_t *xq, const int8_t *w,
                                  const float *xs, const float *ws, const float *bias, float *y, int ldy,
                                  int ncols) {
    v128_t acc[MR][2];
    for (int r = 0; r < mr; r++) acc[r][0] = acc[r][1] = wasm_i32x4_splat(0);
    for (int kp = 0; kp < k_pad / 2; kp++) {
        const v128_t wv = wasm_v128_load(w + (size_t)kp * 16);
        const v128_t w0 = wasm_i16x8_extend_low_i8x16(wv);  /* columns 0..3, (k, k+1) pairs */
        const v128_t w1 = wasm_i16x8_extend_high_i8x16(wv); /* columns 4..7 */
        for (int r = 0; r < mr; r++) {
            const v128_t a = wasm_v128_load32_splat(xq + (size_t)r * k_pad + 2 * kp); /* (x_k, x_k+1) x4 */
            acc[r][0] = wasm_i32x4_add(acc[r][0], wasm_i32x4_dot_i16x8(a, w0));
            acc[r][1] = wasm_i32x4_add(acc[r][1], wasm_i32x4_dot_i16x8(a, w1));
        }
    }
    const v128_t s0 = wasm_v128_load(ws), s1 = wasm_v128_load(ws + 4);
    for (int r = 0; r < mr; r++) {
        const v128_t xr = wasm_f32x4_splat(xs[r]);
        v128_t o0 = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[r][0]), wasm_f32x4_mul(xr, s0));
        v128_t o1 = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[r][1]), wasm_f32x4_mul(xr, s1));
        float tmp[8];
        wasm_v128_store(tmp, o0);
        wasm_v128_store(tmp + 4, o1);
        float *yr = y + (size_t)r * ldy;
        for (int c = 0; c < ncols; c++) yr[c] = tmp[c] + bias[c];
    }
}
#else
static ALWAYS_INLINE void tile_i8(const int mr, int k_pad, const int16_t *xq, const int8_t *w,
                                  const float *xs, const float *ws, const float *bias, float *y, int ldy,
                                  int ncols) {
    int32_t acc[MR][IFC_NR];
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < IFC_NR; c++) acc[r][c] = 0;
    for (int kp = 0; kp < k_pad / 2; kp++) {
        const int8_t *wk = w + (size_t)kp * IFC_NR * 2;
        for (int r = 0; r < mr; r++) {
            const int32_t a0 = xq[(size_t)r * k_pad + 2 * kp], a1 = xq[(size_t)r * k_pad + 2 * kp + 1];
            for (int c = 0; c < IFC_NR; c++) acc[r][c] += a0 * wk[2 * c] + a1 * wk[2 * c + 1];
        }
    }
    for (int r = 0; r < mr; r++) {
        float *yr = y + (size_t)r * ldy;
        for (int c = 0; c < ncols; c++) yr[c] = (float)acc[r][c] * (xs[r] * ws[c]) + bias[c];
    }
}
#endif

static void gemm_i8_packed(const ifc_linear *l, int n, const int16_t *xq, const float *xs, float *y, int ldy) {
    const int k_pad = l->in_pad, out = l->out;
    const int rb = row_block(k_pad / 2); /* int16 rows: half the bytes of f32 */
    for (int r0 = 0; r0 < n; r0 += rb) {
        const int r1 = n < r0 + rb ? n : r0 + rb;
        for (int c0 = 0; c0 < out; c0 += IFC_NR) {
            const int8_t *w = l->wq + (size_t)(c0 / IFC_NR) * (size_t)k_pad * IFC_NR;
            const float *ws = l->scale + c0, *b = l->bias + c0;
            const int ncols = out - c0 < IFC_NR ? out - c0 : IFC_NR;
            int r = r0;
            for (; r + MR <= r1; r += MR)
                tile_i8(MR, k_pad, xq + (size_t)r * k_pad, w, xs + r, ws, b, y + (size_t)r * ldy + c0, ldy, ncols);
#define TAIL(m) case m: if ((m) < MR) tile_i8(m, k_pad, xq + (size_t)r * k_pad, w, xs + r, ws, b, y + (size_t)r * ldy + c0, ldy, ncols); break;
            switch (r1 - r) { TAIL(1) TAIL(2) TAIL(3) TAIL(4) TAIL(5) TAIL(6) TAIL(7) default: break; }
#undef TAIL
        }
    }
}

void linear_forward(const ifc_linear *l, int n, const float *x, int ldx, float *y, int ldy,
                    int16_t *xq, float *xs) {
    if (n <= 0) return;
    if (l->kind == IFC_LIN_F32) {
        gemm_f32_packed(n, l->out, l->in, x, ldx, l->wf, l->bias, y, ldy);
    } else {
        quantize_rows(n, l->in, l->in_pad, l->qmax, x, ldx, xq, xs);
        gemm_i8_packed(l, n, xq, xs, y, ldy);
    }
}
