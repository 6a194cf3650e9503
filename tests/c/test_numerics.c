/* Numerical safety: finite inputs and finite weights give defined, finite outputs, however
 * degenerate (docs/reliability.md, "Numerical safety").
 *
 *   ops        LayerNorm of constant rows (variance 0, eps 1e-12, FLT_TRUE_MIN, 0) and of rows whose squared
 *              deviations overflow; softmax of rows holding +-inf and +-FLT_MAX; GELU at +-FLT_MAX
 *              and subnormals; the I8 GEMM at the widest input the runtime accepts (i32 sums at
 *              their bound) and with NaN / inf activations (no undefined float->int casts); a
 *              packed 4-bit table of odd width decodes every code, -8 included, and ignores its pad.
 *   thresholds the sampled fixture at +inf (every row but [CLS] dropped), -inf, NaN (= -inf),
 *              +-FLT_MAX; n = 1 (a sampler with no row to score) and n = max_position.
 *   corpus     the "ok" files of tests/fixtures/bad/manifest.json: constant rows, eps 1.4e-45, logits
 *              ~1e30, activations overflowing inside LayerNorm, extreme I8, a sampler that drops
 *              everything, NaN weights (loads and runs; NaN logits allowed, the only such file).
 *   random     valid random models (fuzz/model_gen.h, 300 fixed seeds): the fuzzer's properties. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fuzz/model_gen.h"
#include "../../src/ifc_internal.h"
#include "test_util.h"

void run_numerics_tests(const char *fixtures_dir);

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* ---- ops ---- */

static void layernorm_tests(void) {
    enum { D = 24 };
    float w[D], b[D], x[D], y[D];
    for (int i = 0; i < D; i++) { w[i] = 1.0f + 0.01f * (float)i; b[i] = 0.25f - 0.02f * (float)i; }
    const ifc_norm nrm = {w, b};
    static const float consts[] = {0.0f, 0.5f, 0.1f, 100.1f, -3e7f, 1e30f, 1e36f, 1e-40f};
    /* 1e-12 (BERT's), FLT_TRUE_MIN (the smallest the loader takes) and 0 (refused by the loader since
     * it makes var + eps 0; the kernel still outputs the bias there) */
    static const float epss[] = {1e-12f, FLT_TRUE_MIN, 0.0f};
    for (size_t e = 0; e < sizeof epss / sizeof *epss; e++) {
        int finite = 1;
        float worst = 0.0f;
        for (size_t c = 0; c < sizeof consts / sizeof *consts; c++) {
            for (int i = 0; i < D; i++) x[i] = consts[c];
            layernorm_rows(y, x, 1, D, D, &nrm, epss[e]);
            finite &= all_finite(y, D);
            for (int i = 0; i < D; i++) worst = fmaxf(worst, fabsf(y[i] - b[i]));
        }
        char label[128];
        snprintf(label, sizeof label, "numerics LayerNorm of constant rows, eps %g: finite, close to the bias", (double)epss[e]);
        /* (x - mean) is float rounding noise, up to ~1 ulp of x / sqrt(var + eps): |y - b| stays below
         * ~2 w for eps 1e-12 (the normalised noise has unit variance at most) */
        test_result(finite && worst <= 2.5f, label, "max |y - b| = %g", (double)worst);
    }
    /* squared deviations overflow float (var = inf): rstd = 0, y = b. (A row whose *sum* overflows,
     * |x| near FLT_MAX / d, gives NaN: docs/reliability.md.) */
    for (int i = 0; i < D; i++) x[i] = (i & 1) ? 1e37f : -1e37f;
    layernorm_rows(y, x, 1, D, D, &nrm, 1e-12f);
    test_result(all_finite(y, D), "numerics LayerNorm of +-1e37 rows (variance overflows): finite", "y[0] = %g", (double)y[0]);
    for (int i = 0; i < D; i++) x[i] = (float)i * 1e36f; /* the sum, 2.8e38, still fits */
    layernorm_rows(y, x, 1, D, D, &nrm, 0.0f);
    test_result(all_finite(y, D), "numerics LayerNorm of a 0..2.3e37 ramp, eps 0: finite", "y[1] = %g", (double)y[1]);
    /* d = 1: the variance is always 0 */
    x[0] = 3.0f;
    layernorm_rows(y, x, 1, 1, 1, &nrm, 0.0f);
    test_result(y[0] == b[0], "numerics LayerNorm with d = 1, eps 0: y = b", "y = %g", (double)y[0]);
}

static void softmax_tests(void) {
    static const float rows[][6] = {
        {INFINITY, 1.0f, 2.0f, -INFINITY, 0.0f, 0.0f},
        {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY},
        {FLT_MAX, -FLT_MAX, FLT_MAX, 0.0f, 1e-40f, -1e30f},
        {1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f},
        {88.0f, -87.0f, 200.0f, -200.0f, 0.0f, 1.0f},
    };
    int ok = 1;
    float worst = 0.0f;
    for (size_t r = 0; r < sizeof rows / sizeof *rows; r++) {
        for (int cols = 1; cols <= 6; cols++) {
            for (int scale = 0; scale < 2; scale++) {
                float s[6];
                memcpy(s, rows[r], sizeof s);
                softmax_rows_scaled(s, 1, cols, 6, scale ? 0.125f : 10.0f);
                float sum = 0.0f;
                for (int c = 0; c < cols; c++) {
                    ok &= isfinite(s[c]) && s[c] >= 0.0f && s[c] <= 1.0f;
                    sum += s[c];
                }
                worst = fmaxf(worst, fabsf(sum - 1.0f));
            }
        }
    }
    test_result(ok && worst < 1e-5f, "numerics softmax of rows with +-inf, +-FLT_MAX, 1e30: finite, in [0, 1], sum 1",
                "max |sum - 1| = %g", (double)worst);
}

static void gelu_tests(void) {
    float x[] = {FLT_MAX, -FLT_MAX, 1e30f, -1e30f, 1e-40f, -1e-40f, 0.0f, -0.0f, 10.0f, -10.0f, 88.0f, -88.0f};
    const size_t n = sizeof x / sizeof *x;
    float in[sizeof x / sizeof *x];
    memcpy(in, x, sizeof x);
    gelu_inplace(x, n);
    int ok = all_finite(x, n);
    for (size_t i = 0; i < n; i++) {
        /* GELU(x) ~ x for large x, ~0 for very negative x */
        if (in[i] >= 10.0f) ok &= fabsf(x[i] - in[i]) <= 1e-6f * in[i];
        if (in[i] <= -10.0f) ok &= fabsf(x[i]) <= 1e-6f;
    }
    test_result(ok, "numerics GELU at +-FLT_MAX, +-1e30, subnormals: finite, x and 0 at the ends", "GELU(-FLT_MAX) = %g",
                (double)x[1]);
}

/* The I8 GEMM with every weight -128 (the format allows it) on the widest input: the i32 sums
 * reach 65535 * qmax * 128 without overflowing. qmax is load_linear's rule. */
static void i8_extreme_tests(void) {
    const int in = 65535, in_pad = 65536, out = 3, rows = 5;
    const size_t padded_out = (size_t)(out + IFC_NR - 1) / IFC_NR * IFC_NR;
    ifc_linear l = {0};
    l.kind = IFC_LIN_I8;
    l.out = out;
    l.in = in;
    l.in_pad = in_pad;
    long long q = 2147483647LL / (128LL * in_pad);
    l.qmax = (int)(q < 32767 ? q : 32767);
    l.wq = malloc(padded_out * (size_t)in_pad);
    l.scale = malloc(padded_out * sizeof *l.scale);
    l.bias = calloc((size_t)out, sizeof *l.bias);
    float *x = malloc((size_t)rows * in * sizeof *x), y[5 * 3];
    int16_t *xq = malloc((size_t)rows * in_pad * sizeof *xq);
    float xs[5];
    if (!l.wq || !l.scale || !l.bias || !x || !xq) {
        test_result(0, "numerics I8 GEMM at its accumulator bound", "out of memory");
    } else {
        memset(l.wq, 0x80, padded_out * (size_t)in_pad); /* every weight -128 */
        for (size_t c = 0; c < padded_out; c++) l.scale[c] = 1.0f;
        for (int r = 0; r < rows; r++)
            for (int k = 0; k < in; k++) x[(size_t)r * in + k] = r == 1 ? -1.0f : r == 2 ? (k & 1 ? 1.0f : -1.0f) : 0.5f;
        linear_forward(&l, rows, x, in, y, out, xq, xs);
        /* rows 0, 3, 4: 0.5 each -> -65535 * 128 * 0.5; row 1: +65535 * 128; row 2: -1, +1, ..., -1
         * (one more -1): sum -1, times -128 */
        const double want[5] = {-65535.0 * 64.0, 65535.0 * 128.0, 128.0, -65535.0 * 64.0, -65535.0 * 64.0};
        int ok = 1;
        double worst = 0.0;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < out; c++) {
                double err = fabs((double)y[r * out + c] - want[r]) / fmax(1.0, fabs(want[r]));
                worst = fmax(worst, err);
                ok &= err < 1e-5;
            }
        test_result(ok, "numerics I8 GEMM, 65535 inputs, weights -128: exact at the i32 accumulator bound",
                    "qmax %d, worst relative error %g", l.qmax, worst);
        /* hostile activations: NaN, inf, FLT_MAX reach the quantiser; no float->int cast of them */
        for (int k = 0; k < in; k++) x[k] = k % 3 == 0 ? NAN : k % 3 == 1 ? INFINITY : -FLT_MAX;
        for (int k = 0; k < in; k++) x[(size_t)in + k] = k == 7 ? NAN : 1.0f;
        linear_forward(&l, 2, x, in, y, out, xq, xs);
        int bounded = 1;
        for (int r = 0; r < 2; r++)
            for (int k = 0; k < in_pad; k++) bounded &= xq[(size_t)r * in_pad + k] >= -l.qmax && xq[(size_t)r * in_pad + k] <= l.qmax;
        test_result(bounded && isfinite(y[out]), "numerics I8 quantiser with NaN / inf / FLT_MAX activations: codes within +-qmax",
                    "row 1 (one NaN among ones) -> %g", (double)y[out]);
    }
    free(l.wq);
    free(l.scale);
    free(l.bias);
    free(x);
    free(xq);
}

/* ---- thresholds on the sampled fixture ---- */

/* A packed 4-bit (U8) table, 2 rows x 5 columns = 3 bytes a row, low nibble first; each row's
 * last high nibble is padding, set to 0xF in row 0 to show it is never read. */
static void i4_table_tests(void) {
    static const uint8_t codes[6] = {0xF8, 0x10, 0xF7,   /* -8 -1 | 0 1 | 7 (pad 0xF) */
                                     0xD3, 0xB5, 0x09};  /*  3 -3 | 5 -5 | -7 (pad 0) */
    float scale[2] = {0.25f, 0.5f};
    const ifc_table t = {IFC_DT_U8, 2, 5, (void *)codes, scale};
    static const float want[2][5] = {{-2.0f, -0.25f, 0.0f, 0.25f, 1.75f}, {1.5f, -1.5f, 2.5f, -2.5f, -3.5f}};
    float row[6], acc[6];
    int ok = 1;
    for (int r = 0; r < 2; r++) {
        row[5] = acc[5] = 42.0f; /* past the row: must stay untouched */
        table_row_set(&t, r, row);
        for (int c = 0; c < 5; c++) acc[c] = 1.0f;
        table_row_add(&t, r, acc);
        for (int c = 0; c < 5; c++) ok = ok && row[c] == want[r][c] && acc[c] == 1.0f + want[r][c];
        ok = ok && row[5] == 42.0f && acc[5] == 42.0f;
    }
    test_result(ok, "numerics 4-bit table rows: codes -8..7 times the row scale, odd width, pad nibble ignored",
                "row 1 decoded as %g %g %g %g %g", row[0], row[1], row[2], row[3], row[4]);
}

static void threshold_tests(const char *dir) {
    size_t len;
    uint8_t *buf = read_fixture_model(dir, "sampled", "f32", &len);
    ifc_model *m = NULL;
    if (!buf || ifc_model_load(buf, len, &m) != IFC_OK) {
        test_result(0, "numerics thresholds: load sampled.f32", "%s", ifc_last_error());
        free(buf);
        return;
    }
    free(buf);
    const int P = ifc_max_length(m), layers = ifc_num_layers(m), L = ifc_num_labels(m);
    int32_t ids[512], types[512];
    for (int j = 0; j < P; j++) { ids[j] = j == 0 ? 2 : 5 + (j * 7) % 100; types[j] = j > P / 2; }
    float ref[16], out[16];
    /* -inf: every row kept */
    ifc_set_threshold(m, -INFINITY);
    int ok = ifc_classify(m, ids, types, P, ref) == IFC_OK && all_finite(ref, (size_t)L);
    for (int i = 0; i < layers; i++) ok &= ifc_stat_kept(m, i) == P;
    ok &= ifc_stat_flops(m) == ifc_dense_flops(m, P);
    test_result(ok, "numerics threshold -inf keeps every row, FLOPs = dense", "kept[last] %d", ifc_stat_kept(m, layers - 1));
    /* NaN: read as -inf */
    ifc_set_threshold(m, NAN);
    ok = ifc_get_threshold(m) == -INFINITY && ifc_classify(m, ids, types, P, out) == IFC_OK &&
         memcmp(out, ref, (size_t)L * sizeof *out) == 0;
    for (int i = 0; i < layers; i++) ok &= ifc_stat_kept(m, i) == P;
    test_result(ok, "numerics threshold NaN behaves as -inf (keeps every row)", "get_threshold %g", (double)ifc_get_threshold(m));
    /* +inf and FLT_MAX: every row but [CLS] dropped at the first sampler */
    static const float drop_all[2] = {INFINITY, FLT_MAX};
    for (int t = 0; t < 2; t++) {
        ifc_set_threshold(m, drop_all[t]);
        ok = ifc_classify(m, ids, types, P, out) == IFC_OK && all_finite(out, (size_t)L);
        int seen_sampler = 0;
        char kept_s[64] = "", *k = kept_s;
        for (int i = 0; i < layers; i++) {
            const int kept = ifc_stat_kept(m, i);
            const int32_t *pos = ifc_stat_kept_positions(m, i);
            /* layer 0 of the fixture has no sampler; layers 1 and 2 have one */
            seen_sampler |= i >= 1;
            ok &= kept == (seen_sampler ? 1 : P) && pos && pos[0] == 0;
            k += snprintf(k, (size_t)(kept_s + sizeof kept_s - k), "%d ", kept);
        }
        char label[128];
        snprintf(label, sizeof label, "numerics threshold %s drops every row but [CLS]: finite logits", t ? "FLT_MAX" : "+inf");
        test_result(ok, label, "kept %s", kept_s);
    }
    /* n = 1: samplers have no row to score */
    static const float any[4] = {0.0f, INFINITY, -INFINITY, NAN};
    ok = 1;
    for (int t = 0; t < 4; t++) {
        ifc_set_threshold(m, any[t]);
        ok &= ifc_classify(m, ids, types, 1, out) == IFC_OK && all_finite(out, (size_t)L);
        for (int i = 0; i < layers; i++) ok &= ifc_stat_kept(m, i) == 1;
    }
    test_result(ok, "numerics n = 1 ([CLS] only) at every threshold: finite logits, kept 1", "%s", "");
    ifc_model_free(m);
}

/* ---- the corpus's degenerate-but-valid models ---- */

static float threshold_of(const cJSON *t, float file_default) {
    if (cJSON_IsNumber(t)) return (float)t->valuedouble;
    const char *s = cJSON_GetStringValue(t);
    if (s && strcmp(s, "inf") == 0) return INFINITY;
    if (s && strcmp(s, "-inf") == 0) return -INFINITY;
    if (s && strcmp(s, "nan") == 0) return NAN;
    return file_default; /* null */
}

static void corpus_model_test(const char *dir, const cJSON *entry) {
    const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "file"));
    const int finite = cJSON_IsTrue(cJSON_GetObjectItem(entry, "finite"));
    char path[2048], label[256], detail[256] = "";
    snprintf(path, sizeof path, "%s/%s", dir, file ? file : "?");
    snprintf(label, sizeof label, "numerics corpus %s: loads, classifies%s", file ? file : "?", finite ? ", finite logits" : "");
    size_t len;
    uint8_t *buf = read_file(path, &len);
    ifc_model *m = NULL;
    if (!buf || ifc_model_load(buf, len, &m) != IFC_OK) {
        test_result(0, label, "load: %s", ifc_last_error());
        free(buf);
        return;
    }
    free(buf);
    const float file_threshold = ifc_get_threshold(m);
    const int L = ifc_num_labels(m), layers = ifc_num_layers(m);
    int ok = 1, c = 0;
    const cJSON *kase;
    cJSON_ArrayForEach(kase, cJSON_GetObjectItem(entry, "cases")) {
        int32_t ids[64], types[64] = {0};
        int n = 0;
        const cJSON *id;
        cJSON_ArrayForEach(id, cJSON_GetObjectItem(kase, "ids")) if (n < 64) ids[n++] = (int32_t)id->valueint;
        float logits[16], again[16];
        ifc_set_threshold(m, threshold_of(cJSON_GetObjectItem(kase, "threshold"), file_threshold));
        if (ifc_classify(m, ids, types, n, logits) != IFC_OK) {
            ok = 0;
            snprintf(detail, sizeof detail, "case %d: %s", c, ifc_last_error());
            break;
        }
        if (finite && !all_finite(logits, (size_t)L)) {
            ok = 0;
            snprintf(detail, sizeof detail, "case %d: logit %g", c, (double)logits[0]);
        }
        const cJSON *kept = cJSON_GetObjectItem(kase, "kept");
        for (int i = 0; kept && i < layers; i++)
            if (ifc_stat_kept(m, i) != cJSON_GetArrayItem(kept, i)->valueint) {
                ok = 0;
                snprintf(detail, sizeof detail, "case %d: layer %d kept %d, want %d", c, i, ifc_stat_kept(m, i),
                         cJSON_GetArrayItem(kept, i)->valueint);
            }
        /* the arena is reused: a second run of the same input gives the same bits */
        if (ifc_classify(m, ids, types, n, again) != IFC_OK || memcmp(logits, again, (size_t)L * sizeof *logits) != 0) {
            ok = 0;
            snprintf(detail, sizeof detail, "case %d: a second run differs", c);
        }
        c++;
    }
    test_result(ok && c > 0, label, "%d cases %s", c, detail);
    ifc_model_free(m);
}

static void corpus_tests(const char *fixtures_dir) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/bad", fixtures_dir);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    cJSON *manifest = read_json(path);
    int count = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItem(manifest, "files")) {
        const char *expect = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "expect"));
        if (!expect || strcmp(expect, "ok") != 0) continue;
        corpus_model_test(dir, entry);
        count++;
    }
    test_result(count >= 5, "numerics corpus has degenerate models", "%d in %s", count, path);
    cJSON_Delete(manifest);
}

/* ---- random valid models ---- */

static void random_model_tests(int seeds) {
    uint8_t bytes[256];
    uint64_t s = 0x2545F4914F6CDD1Dull;
    int failed = 0, first = -1;
    const char *why = NULL;
    for (int k = 0; k < seeds; k++) {
        for (size_t i = 0; i < sizeof bytes; i++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            bytes[i] = (uint8_t)(s >> 32);
        }
        const char *w = mg_check(bytes, sizeof bytes);
        if (w) {
            if (!failed) { why = w; first = k; }
            failed++;
        }
    }
    char label[128];
    snprintf(label, sizeof label, "numerics %d random valid models (fuzz/model_gen.h): every property holds", seeds);
    test_result(failed == 0, label, "%d failed; first failing seed %d: %s", failed, first, why ? why : "-");
}

void run_numerics_tests(const char *fixtures_dir) {
    layernorm_tests();
    softmax_tests();
    gelu_tests();
    i8_extreme_tests();
    i4_table_tests();
    threshold_tests(fixtures_dir);
    corpus_tests(fixtures_dir);
    /* IFC_TEST_QUICK (scripts/valgrind.sh) runs fewer random models */
    random_model_tests(getenv("IFC_TEST_QUICK") ? 40 : 300);
}
