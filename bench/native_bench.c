/* Native benchmark (not a test): build/native/bench_native [model.safetensors ...]
 * Built by build.sh with -O3 -march=native -ffp-contract=fast against a library built the same way.
 * Prints
 *   - the f32x4 mul+add peak (128-bit vectors, no FMA: what SIMD128 code can issue) and the peak
 *     of this CPU's widest vectors with FMA,
 *   - GFLOP/s of the runtime's f32 and I8 GEMM (src/gemm.c) on encoder-sized shapes,
 *   - ms per classification of each model file at lengths 16/64/128/512 (those <= its max length),
 *     with kept rows and FLOPs of the call.
 * bench/gemm.mjs runs this binary next to the same measurements in WebAssembly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inforcoef.h"

float bench_gemm_f32(int n, int out, int k, int reps);
float bench_gemm_i8(int n, int out, int k, int reps);

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

typedef float f32x4 __attribute__((vector_size(16)));
#if defined(__AVX512F__)
typedef float f32xw __attribute__((vector_size(64)));
#define WIDE_NAME "512-bit"
#elif defined(__AVX__)
typedef float f32xw __attribute__((vector_size(32)));
#define WIDE_NAME "256-bit"
#else
typedef float f32xw __attribute__((vector_size(16)));
#define WIDE_NAME "128-bit"
#endif

/* 12 independent chains x = x * m + c per iteration (a loop-carried dependence the compiler may
 * not fold without -ffast-math). The 128-bit version keeps the multiply and the add separate (no
 * contraction), as SIMD128 has no FMA; the wide one lets them fuse. */
#define PEAK_BODY(T, LANES)                                                                       \
    T a[12], m, c;                                                                               \
    for (int l = 0; l < LANES; l++) { m[l] = 0.999999f; c[l] = 1e-6f; }                          \
    for (int j = 0; j < 12; j++)                                                                 \
        for (int l = 0; l < LANES; l++) a[j][l] = 0.1f * (float)(j + 1);                         \
    for (long i = 0; i < iters; i++) {                                                           \
        for (int j = 0; j < 12; j++) a[j] = a[j] * m + c;                                        \
    }                                                                                            \
    float s = 0.0f;                                                                              \
    for (int j = 0; j < 12; j++) s += a[j][0];                                                   \
    return s;

__attribute__((optimize("fp-contract=off"), noinline)) static float peak_f32x4(long iters) { PEAK_BODY(f32x4, 4) }
__attribute__((noinline)) static float peak_wide(long iters) { PEAK_BODY(f32xw, (int)(sizeof(f32xw) / 4)) }

static volatile float sink;

static void print_peaks(void) {
    const long iters = 20000000;
    double t0 = now_ms();
    sink = peak_f32x4(iters);
    double t1 = now_ms();
    sink = peak_wide(iters);
    double t2 = now_ms();
    printf("native peak f32x4 mul+add (128-bit, no FMA)   %7.1f GFLOP/s\n", 96.0 * iters / ((t1 - t0) * 1e6));
    printf("native peak " WIDE_NAME " FMA                      %7.1f GFLOP/s\n",
           12.0 * 2 * (sizeof(f32xw) / 4) * iters / ((t2 - t1) * 1e6));
}

static void print_gemm(void) {
    static const int shapes[][3] = {{16, 256, 256}, {128, 256, 256}, {128, 1024, 256}, {128, 256, 1024},
                                    {512, 768, 768}, {512, 3072, 768}};
    printf("GEMM y[n,out] = x[n,k] W^T + b      f32 GFLOP/s   i8 GFLOP/s\n");
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int n = shapes[s][0], out = shapes[s][1], k = shapes[s][2];
        const double flop = 2.0 * n * out * k;
        double gf[2];
        for (int kind = 0; kind < 2; kind++) {
            int reps = 1;
            double ms;
            for (;;) { /* grow reps until one measurement takes >= 150 ms */
                double t0 = now_ms();
                sink = kind == 0 ? bench_gemm_f32(n, out, k, reps) : bench_gemm_i8(n, out, k, reps);
                ms = now_ms() - t0;
                if (ms >= 150.0 || reps >= 1 << 16) break;
                reps *= 2;
            }
            gf[kind] = flop * reps / (ms * 1e6);
        }
        printf("  n=%-4d out=%-5d k=%-5d            %8.1f     %8.1f\n", n, out, k, gf[0], gf[1]);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void bench_model(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { printf("%s: cannot open\n", path); return; }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) { fclose(f); free(buf); return; }
    fclose(f);
    ifc_model *m = NULL;
    if (ifc_model_load(buf, (size_t)len, &m) != IFC_OK) { printf("%s: %s\n", path, ifc_last_error()); free(buf); return; }
    free(buf);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    static const int lengths[] = {16, 64, 128, 512};
    int32_t ids[512], types[512];
    float logits[64];
    for (int j = 0; j < 512; j++) { ids[j] = j == 0 ? 2 : 5 + (j * 37) % 100; types[j] = 0; }
    for (size_t li = 0; li < sizeof lengths / sizeof *lengths; li++) {
        const int n = lengths[li];
        if (n > ifc_max_length(m)) { printf("  %-28s n=%-4d skipped (max length %d)\n", name, n, ifc_max_length(m)); continue; }
        double times[200];
        int reps = 0;
        double start = now_ms();
        ifc_classify(m, ids, types, n, logits); /* warm-up */
        while (reps < 200 && (reps < 5 || now_ms() - start < 400.0)) {
            double t0 = now_ms();
            ifc_classify(m, ids, types, n, logits);
            times[reps++] = now_ms() - t0;
        }
        qsort(times, (size_t)reps, sizeof *times, cmp_double);
        char kept[96] = "";
        size_t off = 0;
        for (int i = 0; i < ifc_num_layers(m) && off < sizeof kept - 8; i++)
            off += (size_t)snprintf(kept + off, sizeof kept - off, "%s%d", i ? "," : "", ifc_stat_kept(m, i));
        const double med = times[reps / 2];
        printf("  %-28s n=%-4d %9.3f ms  (median of %3d)  kept [%s]  %.3f GFLOP -> %.1f GFLOP/s\n", name, n, med,
               reps, kept, (double)ifc_stat_flops(m) / 1e9, (double)ifc_stat_flops(m) / (med * 1e6));
    }
    ifc_model_free(m);
}

int main(int argc, char **argv) {
    print_peaks();
    print_gemm();
    if (argc > 1) printf("classification, native (ms per call)\n");
    for (int i = 1; i < argc; i++) bench_model(argv[i]);
    return 0;
}
