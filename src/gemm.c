/* GEMM on packed weights: y[n, out] = x[n, k] W[out, k]^T + b.
 *
 * Weights are packed at load into panels of IFC_NR output columns, k-major (ifc_internal.h), so
 * the inner loop reads one contiguous NR-wide row of the panel per k. The output is computed in
 * MR x NR register tiles: per k, MR broadcasts of x times NR/4 weight vectors, MR*NR/4 mul+add.
 * Rows are processed in blocks sized so that the x rows of a block stay in L2 while every panel
 * streams past them once.
 *
 * WebAssembly SIMD128 (__wasm_simd128__), the build that ships. SIMD128 has no FMA: a
 * multiply-add is an f32x4.mul and an f32x4.add (I8: one i32x4.dot_i16x8_s does 8 multiply-adds,
 * then an i32x4.add). The ceilings are measured by bench/gemm_wasm.c's peak kernels and every
 * choice below by bench/kernel-lab.mjs against them (docs/benchmarks.md, "GEMM kernels"):
 *   - MR 4 x NR 8: 8 accumulators, one k per loop iteration. MR 5 and 6 ran 30-50% slower in V8
 *     (register spills), and so did k unrolled by 4: clang's wasm back end regroups the unrolled
 *     steps into one expression tree per accumulator, which keeps every step's operands live.
 *   - the last n % MR rows (n is 1-30 for SST-2 sentences) would leave a 1-row tile with 2
 *     accumulators, latency-bound at a fraction of the peak (an add waits 3 cycles for the one
 *     before it); they run as 1 x 32 and 2 x 16 tiles over several panels instead (8 accumulators).
 *   - one small function per tile shape (rows x panels), picked from tables by the row count:
 *     each is a loop V8 can keep in registers on its own.
 *   - I8: activations are quantised straight into a tile-interleaved layout (quantize_rows), so a
 *     tile's loads are constant offsets of one pointer.
 *   Tried and measured slower here, so not done: f32 x rows copied into the same interleaved
 *   layout (the copy costs more than the address arithmetic it saves); I8 weights widened to int16
 *   once per panel instead of in every tile's loop (+25% for the loop alone, -5% in the GEMM).
 *
 * Native builds: GNU C vector types (gcc, clang) with a scalar fallback for other compilers.
 * Plain C arrays were tried first for the native tile, but gcc 12 did not keep them in registers:
 * 4-7 GFLOP/s at -O2/-O3 -march=native against 115 GFLOP/s for the vector-type tile (AVX-512,
 * MR 8 x NR 16, n=128 out=1024 k=256, on this machine's shared cores).
 *
 * I8 weights: x rows are quantised to int16 per row (scale = max|x| / qmax), W is int8 with a
 * per-output-row scale, and pairs of k are multiplied and summed in i32 by i32x4.dot_i16x8_s.
 * qmax is chosen per layer so that the i32 sums cannot overflow (see load_linear).
 *
 * Numerics: every output element is one accumulator summed over k in increasing order, then
 * scaled (I8) and biased, on every path, so results do not depend on the tiling. */
#include <math.h>
#include <string.h>

#include "ifc_internal.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

/* Rows per register tile (MR) and, natively, the vector width. MR x NR accumulators + the
 * weight vectors of one k + one broadcast must fit the register file (15 xmm registers for wasm
 * code in V8 on x86-64, 16 natively without AVX-512, 32 with it). */
#if defined(__wasm_simd128__)
#ifndef GEMM_WASM_MR
#define GEMM_WASM_MR 4  /* see the kernels below; 5 and 6 measured in bench/kernel-lab.mjs */
#endif
#define MR GEMM_WASM_MR
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

/* q[r][0..k_pad) = round(x[r][k] * qmax / max|x[r]|), zero past k; xs[r] = max|x[r]| / qmax.
 * Layout of xq: natively row-major, xq[r * k_pad + k]. In wasm, interleaved by register tile so
 * that a tile's loads are constant offsets of one pointer: rows t*MR .. t*MR+h-1 (h = MR, or
 * n % MR for the last tile) are stored k-pair-major, the pair (k, k+1) of the tile's row i at
 * xq[t*MR*k_pad + (k/2)*2h + 2i]. */
static void quantize_rows(int n, int k, int k_pad, int qmax, const float *x, int ldx, int16_t *xq, float *xs) {
    for (int r = 0; r < n; r++) {
        const float *xr = x + (size_t)r * ldx;
#if defined(__wasm_simd128__)
        const int t = r / MR, h = n - t * MR < MR ? n - t * MR : MR, ps = 2 * h; /* ps: int16s between pairs */
        int16_t *qr = xq + (size_t)t * MR * k_pad + (size_t)(r - t * MR) * 2;
#else
        const int ps = 2;
        int16_t *qr = xq + (size_t)r * k_pad;
#endif
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
            const v128_t q = wasm_i16x8_narrow_i32x4(lo, hi);
            int16_t *d = qr + (size_t)(i / 2) * ps;
            wasm_v128_store32_lane(d, q, 0);
            wasm_v128_store32_lane(d + ps, q, 1);
            wasm_v128_store32_lane(d + 2 * ps, q, 2);
            wasm_v128_store32_lane(d + 3 * ps, q, 3);
        }
#endif
        for (; i < k; i++) {
            float v = xr[i] * inv;
            /* |v| <= qmax for finite input; inf/NaN from a hostile file must not reach the cast */
            v = (v >= -(float)qmax && v <= (float)qmax) ? v : (v > 0.0f ? (float)qmax : (v < 0.0f ? -(float)qmax : 0.0f));
            qr[(size_t)(i / 2) * ps + (i & 1)] = (int16_t)(v >= 0.0f ? (int)(v + 0.5f) : -(int)(-v + 0.5f));
        }
        for (; i < k_pad; i++) qr[(size_t)(i / 2) * ps + (i & 1)] = 0;
    }
}

#if defined(__wasm_simd128__)
/* ======================= WebAssembly SIMD128 ======================= */

/* A stripe kernel: `tiles` register tiles of mr rows, one under the other, each over np adjacent
 * panels (np * 8 columns, of which the first ncols are stored). The panels of a stripe stay in L1
 * while its row tiles run. */
typedef void f32_kernel(int tiles, int k, const float *x, int ldx, const float *w, int wstride,
                        const float *bias, float *y, int ldy, int ncols);
typedef void i8_kernel(int tiles, int k_pad, const int16_t *xq, const float *xs, const int8_t *w, int wstride,
                       const float *ws, const float *bias, float *y, int ldy, int ncols);

/* Stores row r of a tile: acc[v] holds columns 4v..4v+3 of the np*8; columns past ncols are
 * padding (zero weights) and are not written. The partial case (the last panel of a layer whose
 * width is not a multiple of 8) goes through a buffer: one short loop instead of a branch per vector. */
static ALWAYS_INLINE void store_row(const int nv, const v128_t *acc, const float *bias, float *yr, int ncols) {
    if (ncols >= 4 * nv) {
        for (int v = 0; v < nv; v++)
            wasm_v128_store(yr + 4 * v, bias ? wasm_f32x4_add(acc[v], wasm_v128_load(bias + 4 * v)) : acc[v]);
    } else {
        float tmp[32];
        for (int v = 0; v < nv; v++) wasm_v128_store(tmp + 4 * v, acc[v]);
        for (int c = 0; c < ncols; c++) yr[c] = tmp[c] + (bias ? bias[c] : 0.0f);
    }
}

/* One k of an f32 tile: acc[r][v] += x[r][kk] * w[panel v/2][kk][4(v%2)..] */
static ALWAYS_INLINE void f32_step(const int mr, const int np, v128_t acc[][8], const float *const *xr,
                                   const float *w, int wstride, int kk) {
    v128_t b[8];
    for (int p = 0; p < np; p++) {
        b[2 * p] = wasm_v128_load(w + (size_t)p * wstride + (size_t)kk * 8);
        b[2 * p + 1] = wasm_v128_load(w + (size_t)p * wstride + (size_t)kk * 8 + 4);
    }
    for (int r = 0; r < mr; r++) {
        const v128_t a = wasm_v128_load32_splat(xr[r] + kk);
        for (int v = 0; v < 2 * np; v++) acc[r][v] = wasm_f32x4_add(acc[r][v], wasm_f32x4_mul(a, b[v]));
    }
}

static ALWAYS_INLINE void f32_stripe(const int mr, const int np, int tiles, int k, const float *x, int ldx,
                                     const float *w, int wstride, const float *bias, float *y, int ldy,
                                     int ncols) {
    for (int t = 0; t < tiles; t++, x += (size_t)mr * ldx, y += (size_t)mr * ldy) {
        v128_t acc[MR][8];
        const float *xr[MR];
        for (int r = 0; r < mr; r++) {
            xr[r] = x + (size_t)r * ldx;
            for (int v = 0; v < 2 * np; v++) acc[r][v] = wasm_f32x4_splat(0.0f);
        }
        /* one k per iteration: unrolled, clang's wasm back end regroups the steps into one
         * expression tree per accumulator, which keeps every step's operands live at once and makes
         * V8 spill (measured: 10-30% slower with k unrolled by 4) */
        for (int kk = 0; kk < k; kk++) f32_step(mr, np, acc, xr, w, wstride, kk);
        for (int r = 0; r < mr; r++) store_row(2 * np, acc[r], bias, y + (size_t)r * ldy, ncols);
    }
}

/* One k pair of an I8 tile: acc[r][v] += dot(x[r][2kp..2kp+1], w pairs of columns 4v..4v+3);
 * xt: the tile's interleaved rows (see quantize_rows) */
static ALWAYS_INLINE void i8_step(const int mr, const int np, v128_t acc[][8], const int16_t *xt,
                                  const int8_t *w, int wstride, int kp) {
    v128_t b[8];
    for (int p = 0; p < np; p++) {
        const v128_t wv = wasm_v128_load(w + (size_t)p * wstride + (size_t)kp * 16);
        b[2 * p] = wasm_i16x8_extend_low_i8x16(wv);      /* columns 0..3, (k, k+1) pairs */
        b[2 * p + 1] = wasm_i16x8_extend_high_i8x16(wv); /* columns 4..7 */
    }
    for (int r = 0; r < mr; r++) {
        const v128_t a = wasm_v128_load32_splat(xt + (size_t)kp * 2 * mr + 2 * r); /* (x_k, x_k+1) x4 */
        for (int v = 0; v < 2 * np; v++) acc[r][v] = wasm_i32x4_add(acc[r][v], wasm_i32x4_dot_i16x8(a, b[v]));
    }
}

static ALWAYS_INLINE void i8_stripe(const int mr, const int np, int tiles, int k_pad, const int16_t *xq,
                                    const float *xs, const int8_t *w, int wstride, const float *ws,
                                    const float *bias, float *y, int ldy, int ncols) {
    for (int t = 0; t < tiles; t++, xq += (size_t)mr * k_pad, xs += mr, y += (size_t)mr * ldy) {
        v128_t acc[MR][8];
        for (int r = 0; r < mr; r++)
            for (int v = 0; v < 2 * np; v++) acc[r][v] = wasm_i32x4_splat(0);
        for (int kp = 0; kp < k_pad / 2; kp++) i8_step(mr, np, acc, xq, w, wstride, kp);
        /* y = acc * (xs[r] * ws[c]) + bias[c] */
        for (int r = 0; r < mr; r++) {
            const v128_t xsr = wasm_f32x4_splat(xs[r]);
            v128_t o[8];
            for (int v = 0; v < 2 * np; v++)
                o[v] = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc[r][v]), wasm_f32x4_mul(xsr, wasm_v128_load(ws + 4 * v)));
            store_row(2 * np, o, bias, y + (size_t)r * ldy, ncols);
        }
    }
}

/* The kernels, one function per (rows, panels) shape: MR x 1 panel for the bulk of the rows, and
 * for the n % MR rows left over, 1 x 4, 2 x 2, 3 x 1 panels (>= 6 accumulators each) and the
 * 1- and 2-row kernels on one panel for the last panels of a stripe. */
#define KERNELS(MR_)                                                                                          \
    static void f32_k##MR_##x1(int t, int k, const float *x, int ldx, const float *w, int ws, const float *b,  \
                               float *y, int ldy, int nc) { f32_stripe(MR_, 1, t, k, x, ldx, w, ws, b, y, ldy, nc); } \
    static void i8_k##MR_##x1(int t, int k, const int16_t *x, const float *xs, const int8_t *w, int ws,        \
                              const float *s, const float *b, float *y, int ldy, int nc) {                    \
        i8_stripe(MR_, 1, t, k, x, xs, w, ws, s, b, y, ldy, nc);                                              \
    }
KERNELS(1)
KERNELS(2)
KERNELS(3)
KERNELS(4)
#if MR >= 5
KERNELS(5)
#endif
#if MR >= 6
KERNELS(6)
#endif
#undef KERNELS
static void f32_k1x4(int t, int k, const float *x, int ldx, const float *w, int ws, const float *b, float *y,
                     int ldy, int nc) { f32_stripe(1, 4, t, k, x, ldx, w, ws, b, y, ldy, nc); }
static void f32_k2x2(int t, int k, const float *x, int ldx, const float *w, int ws, const float *b, float *y,
                     int ldy, int nc) { f32_stripe(2, 2, t, k, x, ldx, w, ws, b, y, ldy, nc); }
static void i8_k1x4(int t, int k, const int16_t *x, const float *xs, const int8_t *w, int ws, const float *s,
                    const float *b, float *y, int ldy, int nc) { i8_stripe(1, 4, t, k, x, xs, w, ws, s, b, y, ldy, nc); }
static void i8_k2x2(int t, int k, const int16_t *x, const float *xs, const int8_t *w, int ws, const float *s,
                    const float *b, float *y, int ldy, int nc) { i8_stripe(2, 2, t, k, x, xs, w, ws, s, b, y, ldy, nc); }

/* [rows] -> kernel on one panel; [rows] -> (kernel, panels) for the leftover rows. */
static f32_kernel *const f32_one_panel[7] = {
    NULL, f32_k1x1, f32_k2x1, f32_k3x1, f32_k4x1,
#if MR >= 5
    f32_k5x1,
#else
    NULL,
#endif
#if MR >= 6
    f32_k6x1,
#else
    NULL,
#endif
};
static i8_kernel *const i8_one_panel[7] = {
    NULL, i8_k1x1, i8_k2x1, i8_k3x1, i8_k4x1,
#if MR >= 5
    i8_k5x1,
#else
    NULL,
#endif
#if MR >= 6
    i8_k6x1,
#else
    NULL,
#endif
};
static f32_kernel *const f32_wide[3] = {NULL, f32_k1x4, f32_k2x2};
static i8_kernel *const i8_wide[3] = {NULL, i8_k1x4, i8_k2x2};
static const int wide_panels[3] = {0, 4, 2};

void gemm_f32_packed(int n, int out, int k, const float *x, int ldx, const float *wp,
                     const float *bias, float *y, int ldy) {
    const int rb = row_block(k), panels = (out + IFC_NR - 1) / IFC_NR, wstride = k * IFC_NR;
    for (int r0 = 0; r0 < n; r0 += rb) {
        const int rows = n - r0 < rb ? n - r0 : rb, tiles = rows / MR, rem = rows % MR;
        const float *xb = x + (size_t)r0 * ldx;
        float *yb = y + (size_t)r0 * ldy;
        if (tiles > 0)
            for (int p = 0; p < panels; p++) {
                const int c0 = p * IFC_NR, nc = out - c0 < IFC_NR ? out - c0 : IFC_NR;
                f32_one_panel[MR](tiles, k, xb, ldx, wp + (size_t)p * wstride, wstride, bias ? bias + c0 : NULL,
                                  yb + c0, ldy, nc);
            }
        if (rem == 0) continue;
        xb += (size_t)tiles * MR * ldx;
        yb += (size_t)tiles * MR * ldy;
        int p = 0;
        if (rem < 3)
            for (const int np = wide_panels[rem]; p + np <= panels; p += np) {
                const int c0 = p * IFC_NR, nc = out - c0 < np * IFC_NR ? out - c0 : np * IFC_NR;
                f32_wide[rem](1, k, xb, ldx, wp + (size_t)p * wstride, wstride, bias ? bias + c0 : NULL, yb + c0, ldy, nc);
            }
        for (; p < panels; p++) {
            const int c0 = p * IFC_NR, nc = out - c0 < IFC_NR ? out - c0 : IFC_NR;
            f32_one_panel[rem](1, k, xb, ldx, wp + (size_t)p * wstride, wstride, bias ? bias + c0 : NULL, yb + c0, ldy, nc);
        }
    }
}

static void gemm_i8_packed(const ifc_linear *l, int n, const int16_t *xq, const float *xs, float *y, int ldy) {
    const int k_pad = l->in_pad, out = l->out, panels = (out + IFC_NR - 1) / IFC_NR, wstride = k_pad * IFC_NR;
    const int rb = row_block(k_pad / 2); /* int16 rows: half the bytes of f32 */
    for (int r0 = 0; r0 < n; r0 += rb) {
        const int rows = n - r0 < rb ? n - r0 : rb, tiles = rows / MR, rem = rows % MR;
        const int16_t *xb = xq + (size_t)r0 * k_pad;
        const float *sb = xs + r0;
        float *yb = y + (size_t)r0 * ldy;
        if (tiles > 0)
            for (int p = 0; p < panels; p++) {
                const int c0 = p * IFC_NR, nc = out - c0 < IFC_NR ? out - c0 : IFC_NR;
                i8_one_panel[MR](tiles, k_pad, xb, sb, l->wq + (size_t)p * wstride, wstride, l->scale + c0,
                                 l->bias + c0, yb + c0, ldy, nc);
            }
        if (rem == 0) continue;
        xb += (size_t)tiles * MR * k_pad;
        sb += tiles * MR;
        yb += (size_t)tiles * MR * ldy;
        int p = 0;
        if (rem < 3)
            for (const int np = wide_panels[rem]; p + np <= panels; p += np) {
                const int c0 = p * IFC_NR, nc = out - c0 < np * IFC_NR ? out - c0 : np * IFC_NR;
                i8_wide[rem](1, k_pad, xb, sb, l->wq + (size_t)p * wstride, wstride, l->scale + c0, l->bias + c0,
                             yb + c0, ldy, nc);
            }
        for (; p < panels; p++) {
            const int c0 = p * IFC_NR, nc = out - c0 < IFC_NR ? out - c0 : IFC_NR;
            i8_one_panel[rem](1, k_pad, xb, sb, l->wq + (size_t)p * wstride, wstride, l->scale + c0, l->bias + c0,
                              yb + c0, ldy, nc);
        }
    }
}

#else
/* ======================= native ======================= */

/* ---- f32 tile: y[mr, ncols] = x[mr, k] . panel[k, NR] (+ bias) ---- */

#if defined(__GNUC__) || defined(__clang__)
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

#endif /* __wasm_simd128__ */

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
