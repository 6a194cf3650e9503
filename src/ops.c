/* Element-wise and row-wise operations of the forward pass: LayerNorm, GELU (erf form),
 * softmax, tanh, embedding-row decoding.
 *
 * exp and erf are evaluated with branch-free polynomials so that they vectorise (SIMD128
 * intrinsics in the wasm build, auto-vectorised loops natively) and give the same values in both:
 *   exp:  Cephes expf (range reduction by ln 2, degree-5 polynomial), ~1 ulp on [-87, 88];
 *   erf:  Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7,
 * well inside the 1e-4 logit tolerance against the PyTorch reference. */
#include <math.h>
#include <string.h>

#include "ifc_internal.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

#define EXP_LO (-87.0f)
#define EXP_HI 88.0f
#define LOG2E 1.44269504088896341f
#define LN2_HI 0.693359375f
#define LN2_LO (-2.12194440e-4f)
#define ROUND_MAGIC 12582912.0f /* 1.5 * 2^23: adding and subtracting rounds to nearest integer */
#define EP0 1.9875691500e-4f
#define EP1 1.3981999507e-3f
#define EP2 8.3334519073e-3f
#define EP3 4.1665795894e-2f
#define EP4 1.6666665459e-1f
#define EP5 5.0000001201e-1f
#define ERF_P 0.3275911f
#define ERF_A1 0.254829592f
#define ERF_A2 (-0.284496736f)
#define ERF_A3 1.421413741f
#define ERF_A4 (-1.453152027f)
#define ERF_A5 1.061405429f
#define INV_SQRT2 0.70710678118654752f

static inline float exp_poly(float x) {
    x = x > EXP_LO ? x : EXP_LO; /* also maps NaN to EXP_LO: the float->int conversion below stays defined */
    x = x < EXP_HI ? x : EXP_HI;
    const float n = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC;
    const float r = (x - n * LN2_HI) - n * LN2_LO;
    float p = EP0;
    p = p * r + EP1;
    p = p * r + EP2;
    p = p * r + EP3;
    p = p * r + EP4;
    p = p * r + EP5;
    const float y = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float two_n;
    memcpy(&two_n, &bits, sizeof two_n);
    return y * two_n;
}

static inline float gelu_poly(float x) {
    const float z = fabsf(x) * INV_SQRT2;
    const float t = 1.0f / (1.0f + ERF_P * z);
    const float poly = ((((ERF_A5 * t + ERF_A4) * t + ERF_A3) * t + ERF_A2) * t + ERF_A1) * t;
    const float erf_abs = 1.0f - poly * exp_poly(-z * z);
    const float erf = x < 0.0f ? -erf_abs : erf_abs;
    return 0.5f * x * (1.0f + erf);
}

#if defined(__wasm_simd128__)
static inline v128_t exp4(v128_t x) {
    x = wasm_f32x4_pmax(wasm_f32x4_splat(EXP_LO), x);
    x = wasm_f32x4_pmin(wasm_f32x4_splat(EXP_HI), x);
    const v128_t magic = wasm_f32x4_splat(ROUND_MAGIC);
    const v128_t n = wasm_f32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(LOG2E)), magic), magic);
    const v128_t r = wasm_f32x4_sub(wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(LN2_HI))),
                                    wasm_f32x4_mul(n, wasm_f32x4_splat(LN2_LO)));
    v128_t p = wasm_f32x4_splat(EP0);
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(EP1));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(EP2));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(EP3));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(EP4));
    p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(EP5));
    const v128_t y = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r), wasm_f32x4_splat(1.0f));
    const v128_t two_n = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
    return wasm_f32x4_mul(y, two_n);
}

static inline v128_t gelu4(v128_t x) {
    const v128_t z = wasm_f32x4_mul(wasm_f32x4_abs(x), wasm_f32x4_splat(INV_SQRT2));
    const v128_t one = wasm_f32x4_splat(1.0f);
    const v128_t t = wasm_f32x4_div(one, wasm_f32x4_add(one, wasm_f32x4_mul(wasm_f32x4_splat(ERF_P), z)));
    v128_t poly = wasm_f32x4_splat(ERF_A5);
    poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(ERF_A4));
    poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(ERF_A3));
    poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(ERF_A2));
    poly = wasm_f32x4_add(wasm_f32x4_mul(poly, t), wasm_f32x4_splat(ERF_A1));
    poly = wasm_f32x4_mul(poly, t);
    const v128_t erf_abs = wasm_f32x4_sub(one, wasm_f32x4_mul(poly, exp4(wasm_f32x4_neg(wasm_f32x4_mul(z, z)))));
    /* copy the sign of x onto erf_abs */
    const v128_t sign = wasm_v128_and(x, wasm_i32x4_splat((int32_t)0x80000000u));
    const v128_t erf = wasm_v128_or(erf_abs, sign);
    return wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_splat(0.5f), x), wasm_f32x4_add(one, erf));
}
#endif

/* GELU(x) = 0.5 x (1 + erf(x / sqrt 2)), in place over `count` floats. */
void gelu_inplace(float *x, size_t count) {
    size_t i = 0;
#if defined(__wasm_simd128__)
    for (; i + 4 <= count; i += 4) wasm_v128_store(x + i, gelu4(wasm_v128_load(x + i)));
#endif
    for (; i < count; i++) x[i] = gelu_poly(x[i]);
}

/* Sum of d floats with 8 independent partial sums (vectorises without -ffast-math). */
static float row_sum(const float *x, int d) {
    int i = 0;
#if defined(__wasm_simd128__)
    v128_t a = wasm_f32x4_splat(0.0f), b = a;
    for (; i + 8 <= d; i += 8) {
        a = wasm_f32x4_add(a, wasm_v128_load(x + i));
        b = wasm_f32x4_add(b, wasm_v128_load(x + i + 4));
    }
    float p[8];
    wasm_v128_store(p, a);
    wasm_v128_store(p + 4, b);
#else
    float p[8] = {0};
    for (; i + 8 <= d; i += 8)
        for (int l = 0; l < 8; l++) p[l] += x[i + l];
#endif
    float s = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    for (; i < d; i++) s += x[i];
    return s;
}

/* Sum of (x - mean)^2. */
static float row_sqdev(const float *x, int d, float mean) {
    int i = 0;
#if defined(__wasm_simd128__)
    const v128_t m = wasm_f32x4_splat(mean);
    v128_t a = wasm_f32x4_splat(0.0f), b = a;
    for (; i + 8 <= d; i += 8) {
        v128_t u = wasm_f32x4_sub(wasm_v128_load(x + i), m), v = wasm_f32x4_sub(wasm_v128_load(x + i + 4), m);
        a = wasm_f32x4_add(a, wasm_f32x4_mul(u, u));
        b = wasm_f32x4_add(b, wasm_f32x4_mul(v, v));
    }
    float p[8];
    wasm_v128_store(p, a);
    wasm_v128_store(p + 4, b);
#else
    float p[8] = {0};
    for (; i + 8 <= d; i += 8)
        for (int l = 0; l < 8; l++) {
            float u = x[i + l] - mean;
            p[l] += u * u;
        }
#endif
    float s = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
    for (; i < d; i++) s += (x[i] - mean) * (x[i] - mean);
    return s;
}

/* y[d] = (x - mean) / sqrt(var + eps) * w + b, biased variance (y may equal x).
 * The loader refuses layer_norm_eps <= 0 (config.c), so var + eps > 0 for a finite row; the guard
 * stays for a build that flushes a subnormal eps to 0 and for NaN rows: where var + eps is not > 0
 * the normalised row is taken as 0 (instead of 0 * inf = NaN), so y = b. */
static void layernorm_row(float *y, const float *x, int d, const ifc_norm *nrm, float eps) {
    const float mean = row_sum(x, d) / (float)d;
    const float var_eps = row_sqdev(x, d, mean) / (float)d + eps;
    const float rstd = var_eps > 0.0f ? 1.0f / sqrtf(var_eps) : 0.0f;
    for (int i = 0; i < d; i++) y[i] = (x[i] - mean) * rstd * nrm->w[i] + nrm->b[i];
}

/* x, y: [n, d] contiguous (row stride ld for both). */
void layernorm_rows(float *y, const float *x, int n, int d, size_t ld, const ifc_norm *nrm, float eps) {
    for (int r = 0; r < n; r++) layernorm_row(y + (size_t)r * ld, x + (size_t)r * ld, d, nrm, eps);
}

/* h[r] = LN(h[r] + t[r]); h, t: [n, d]. The residual add of every encoder block. */
void add_layernorm_rows(float *h, const float *t, int n, int d, const ifc_norm *nrm, float eps) {
    for (int r = 0; r < n; r++) {
        float *hr = h + (size_t)r * d;
        const float *tr = t + (size_t)r * d;
        for (int i = 0; i < d; i++) hr[i] += tr[i];
        layernorm_row(hr, hr, d, nrm, eps);
    }
}

/* Row-wise softmax(scale * s) over `cols` entries of each of n rows with stride ld. */
void softmax_rows_scaled(float *s, int n, int cols, size_t ld, float scale) {
    for (int r = 0; r < n; r++) {
        float *row = s + (size_t)r * ld;
        float mx = row[0];
        for (int c = 1; c < cols; c++) mx = row[c] > mx ? row[c] : mx;
        int c = 0;
        float sum = 0.0f;
#if defined(__wasm_simd128__)
        const v128_t vm = wasm_f32x4_splat(mx), vs = wasm_f32x4_splat(scale);
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (; c + 4 <= cols; c += 4) {
            v128_t e = exp4(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + c), vm), vs));
            wasm_v128_store(row + c, e);
            acc = wasm_f32x4_add(acc, e);
        }
        sum = (wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1)) +
              (wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3));
#endif
        for (; c < cols; c++) row[c] = exp_poly((row[c] - mx) * scale);
#if !defined(__wasm_simd128__)
        sum = row_sum(row, cols);
#else
        for (c = cols & ~3; c < cols; c++) sum += row[c];
#endif
        const float inv = 1.0f / sum;
        for (c = 0; c < cols; c++) row[c] *= inv;
    }
}

void tanh_inplace(float *x, int count) {
    for (int i = 0; i < count; i++) x[i] = tanhf(x[i]);
}

/* ---- embedding rows ---- */

/* Code c of a packed 4-bit table row (ifc_table): a two's complement nibble, low nibble first. */
static inline int i4_code(const uint8_t *row, int c) {
    const int nibble = (c & 1) ? row[c >> 1] >> 4 : row[c >> 1] & 15;
    return nibble - ((nibble & 8) << 1);
}

/* Value [row][c] of an embedding table in its stored dtype (docs/model-format.md, "Dtypes"). */
static inline float table_value(const ifc_table *t, int row, int c) {
    const size_t at = (size_t)row * (size_t)t->cols + (size_t)c;
    switch (t->dtype) {
    case IFC_DT_F32: return ((const float *)t->data)[at];
    case IFC_DT_F16: return ifc_half_to_float(((const uint16_t *)t->data)[at]);
    case IFC_DT_I8:  return t->scale[row] * (float)((const int8_t *)t->data)[at];
    case IFC_DT_U8:  /* rows of (cols + 1) / 2 bytes */
        return t->scale[row] * (float)i4_code((const uint8_t *)t->data + (size_t)row * (size_t)((t->cols + 1) / 2), c);
    }
    return 0.0f;
}

void table_row_set(const ifc_table *t, int row, float *out) {
    for (int c = 0; c < t->cols; c++) out[c] = table_value(t, row, c);
}

void table_row_add(const ifc_table *t, int row, float *acc) {
    for (int c = 0; c < t->cols; c++) acc[c] += table_value(t, row, c);
}
