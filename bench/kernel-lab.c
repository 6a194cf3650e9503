/* Kernel laboratory (bench only, never shipped): variants of the f32 GEMM register tile in
 * WebAssembly SIMD128, timed side by side by bench/kernel-lab.mjs to find out what V8 runs
 * fastest on this machine. Same problem as src/gemm.c: y[n, out] = x[n, k] W^T, W packed into
 * panels of NR output columns, k-major (panel[k][NR]).
 *
 *   lab_gemm(variant, n, out, k, reps)   variant:
 *     0  MR 4 x NR 8, one k per step, load32_splat per row   (src/gemm.c's tile alone, no bias or tails)
 *     1  MR 4 x NR 8, k unrolled by 4: one v128 load of x per row per 4 k, lanes splat by shuffle
 *     2  MR 6 x NR 8, k unrolled by 4, shuffle splat          (12 accumulators)
 *     3  MR 5 x NR 8, k unrolled by 4, shuffle splat          (10 accumulators)
 *     4  MR 3 x NR 16, one k per step, load32_splat           (12 accumulators, 4 weight vectors)
 *     5  MR 4 x NR 8, k unrolled by 4, load32_splat per k     (unrolling alone)
 *   variant + 100: the same with x, W, y 8 bytes past a 64-byte boundary (else 64-byte aligned)
 *   Rows that do not fill a tile and columns that do not fill a panel are left out: only full
 *   tiles are timed (n, out multiples of 12 and 16 in the lab's shapes).
 * Build (not part of build.sh):
 *   emcc -O3 -msimd128 --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 \
 *        -sEXPORTED_FUNCTIONS='["_malloc","_free","_lab_gemm"]' bench/kernel-lab.c -o build/bench/kernel-lab.wasm */
#include <stdlib.h>
#include <stdint.h>
#include <wasm_simd128.h>

#define INLINE static inline __attribute__((always_inline))

#define SPLAT(v, i) wasm_i32x4_shuffle(v, v, i, i, i, i)

/* variant 0: src/gemm.c's 4x8 tile */
INLINE void tile0(int k, const float *x, int ldx, const float *w, float *y, int ldy) {
    v128_t acc[4][2];
    for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
    for (int kk = 0; kk < k; kk++) {
        const v128_t b0 = wasm_v128_load(w + (size_t)kk * 8), b1 = wasm_v128_load(w + (size_t)kk * 8 + 4);
        for (int r = 0; r < 4; r++) {
            const v128_t a = wasm_v128_load32_splat(x + (size_t)r * ldx + kk);
            acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(a, b0));
            acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(a, b1));
        }
    }
    for (int r = 0; r < 4; r++) { wasm_v128_store(y + (size_t)r * ldy, acc[r][0]); wasm_v128_store(y + (size_t)r * ldy + 4, acc[r][1]); }
}

/* variants 1-3: MR x 8, k by 4, one x load per row per 4 k, lanes splat by shuffle */
#define TILE_SPLAT(NAME, MR)                                                                              \
    INLINE void NAME(int k, const float *x, int ldx, const float *w, float *y, int ldy) {                \
        v128_t acc[MR][2];                                                                                \
        for (int r = 0; r < MR; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);                      \
        int kk = 0;                                                                                       \
        for (; kk + 4 <= k; kk += 4) {                                                                    \
            v128_t xa[MR];                                                                                \
            for (int r = 0; r < MR; r++) xa[r] = wasm_v128_load(x + (size_t)r * ldx + kk);                \
            _Pragma("clang loop unroll(full)") for (int u = 0; u < 4; u++) {                              \
                const v128_t b0 = wasm_v128_load(w + (size_t)(kk + u) * 8);                               \
                const v128_t b1 = wasm_v128_load(w + (size_t)(kk + u) * 8 + 4);                           \
                for (int r = 0; r < MR; r++) {                                                            \
                    const v128_t a = u == 0 ? SPLAT(xa[r], 0) : u == 1 ? SPLAT(xa[r], 1)                  \
                                   : u == 2 ? SPLAT(xa[r], 2) : SPLAT(xa[r], 3);                          \
                    acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(a, b0));                         \
                    acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(a, b1));                         \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
        for (; kk < k; kk++) {                                                                            \
            const v128_t b0 = wasm_v128_load(w + (size_t)kk * 8), b1 = wasm_v128_load(w + (size_t)kk * 8 + 4); \
            for (int r = 0; r < MR; r++) {                                                                \
                const v128_t a = wasm_v128_load32_splat(x + (size_t)r * ldx + kk);                        \
                acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(a, b0));                             \
                acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(a, b1));                             \
            }                                                                                             \
        }                                                                                                 \
        for (int r = 0; r < MR; r++) {                                                                    \
            wasm_v128_store(y + (size_t)r * ldy, acc[r][0]);                                              \
            wasm_v128_store(y + (size_t)r * ldy + 4, acc[r][1]);                                          \
        }                                                                                                 \
    }
TILE_SPLAT(tile1, 4)
TILE_SPLAT(tile2, 6)
TILE_SPLAT(tile3, 5)

/* variant 4: 3 x 16 */
INLINE void tile4(int k, const float *x, int ldx, const float *w, float *y, int ldy) {
    v128_t acc[3][4];
    for (int r = 0; r < 3; r++) for (int v = 0; v < 4; v++) acc[r][v] = wasm_f32x4_splat(0.0f);
    for (int kk = 0; kk < k; kk++) {
        v128_t b[4];
        for (int v = 0; v < 4; v++) b[v] = wasm_v128_load(w + (size_t)kk * 16 + 4 * v);
        for (int r = 0; r < 3; r++) {
            const v128_t a = wasm_v128_load32_splat(x + (size_t)r * ldx + kk);
            for (int v = 0; v < 4; v++) acc[r][v] = wasm_f32x4_add(acc[r][v], wasm_f32x4_mul(a, b[v]));
        }
    }
    for (int r = 0; r < 3; r++) for (int v = 0; v < 4; v++) wasm_v128_store(y + (size_t)r * ldy + 4 * v, acc[r][v]);
}

/* variant 5: 4 x 8, k by 4, load32_splat */
INLINE void tile5(int k, const float *x, int ldx, const float *w, float *y, int ldy) {
    v128_t acc[4][2];
    for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = wasm_f32x4_splat(0.0f);
    int kk = 0;
    for (; kk + 4 <= k; kk += 4) {
        _Pragma("clang loop unroll(full)") for (int u = 0; u < 4; u++) {
            const v128_t b0 = wasm_v128_load(w + (size_t)(kk + u) * 8), b1 = wasm_v128_load(w + (size_t)(kk + u) * 8 + 4);
            for (int r = 0; r < 4; r++) {
                const v128_t a = wasm_v128_load32_splat(x + (size_t)r * ldx + kk + u);
                acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(a, b0));
                acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(a, b1));
            }
        }
    }
    for (; kk < k; kk++) {
        const v128_t b0 = wasm_v128_load(w + (size_t)kk * 8), b1 = wasm_v128_load(w + (size_t)kk * 8 + 4);
        for (int r = 0; r < 4; r++) {
            const v128_t a = wasm_v128_load32_splat(x + (size_t)r * ldx + kk);
            acc[r][0] = wasm_f32x4_add(acc[r][0], wasm_f32x4_mul(a, b0));
            acc[r][1] = wasm_f32x4_add(acc[r][1], wasm_f32x4_mul(a, b1));
        }
    }
    for (int r = 0; r < 4; r++) { wasm_v128_store(y + (size_t)r * ldy, acc[r][0]); wasm_v128_store(y + (size_t)r * ldy + 4, acc[r][1]); }
}

#define DRIVER(NAME, TILE, MR, NR)                                                            \
    static void NAME(int n, int out, int k, const float *x, const float *wp, float *y) {      \
        for (int c0 = 0; c0 + NR <= out; c0 += NR) {                                          \
            const float *w = wp + (size_t)(c0 / NR) * (size_t)k * NR;                         \
            for (int r = 0; r + MR <= n; r += MR) TILE(k, x + (size_t)r * k, k, w, y + (size_t)r * out + c0, out); \
        }                                                                                     \
    }
DRIVER(gemm0, tile0, 4, 8)
DRIVER(gemm1, tile1, 4, 8)
DRIVER(gemm2, tile2, 6, 8)
DRIVER(gemm3, tile3, 5, 8)
DRIVER(gemm4, tile4, 3, 16)
DRIVER(gemm5, tile5, 4, 8)



float lab_gemm(int variant, int n, int out, int k, int reps);
float lab_gemm(int variant, int n, int out, int k, int reps) {
    /* variant + 100: the same kernel with x, W and y at 8 bytes past a 64-byte boundary (what
     * emscripten's malloc, 8-byte aligned, may hand out); otherwise all three 64-byte aligned */
    const size_t off = variant >= 100 ? 2 : 0;
    variant %= 100;
    float *xb = malloc(sizeof(float) * ((size_t)n * k + 32)), *wb = malloc(sizeof(float) * ((size_t)out * k + 32)),
          *yb = malloc(sizeof(float) * ((size_t)n * out + 32));
    if (!xb || !wb || !yb) return -1.0f;
#define ALIGN64(p) ((float *)(((uintptr_t)(p) + 63) & ~(uintptr_t)63) + off)
    float *x = ALIGN64(xb), *w = ALIGN64(wb), *y = ALIGN64(yb);
#undef ALIGN64
    uint32_t s = 1;
    for (size_t i = 0; i < (size_t)n * k; i++) { s = s * 1664525u + 1013904223u; x[i] = (float)(s >> 9) / (float)(1 << 23) - 1.0f; }
    for (size_t i = 0; i < (size_t)out * k; i++) { s = s * 1664525u + 1013904223u; w[i] = (float)(s >> 9) / (float)(1 << 23) - 1.0f; }
    for (int r = 0; r < reps; r++) {
        switch (variant) {
            case 0: gemm0(n, out, k, x, w, y); break;
            case 1: gemm1(n, out, k, x, w, y); break;
            case 2: gemm2(n, out, k, x, w, y); break;
            case 3: gemm3(n, out, k, x, w, y); break;
            case 4: gemm4(n, out, k, x, w, y); break;
            case 5: gemm5(n, out, k, x, w, y); break;
            default: break;
        }
    }
    float check = y[0];
    free(xb); free(wb); free(yb);
    return check;
}
