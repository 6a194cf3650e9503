/* Random *valid* inforcoef model files built from a byte stream, and the properties every valid
 * model must show when run. Header-only (static functions), included by:
 *   fuzz/fuzz_model.c          libFuzzer drives the byte stream
 *   tests/c/test_numerics.c    a fixed set of seeds, natively, under ASan and valgrind too
 *
 * mg_check(bytes) builds one model (docs/model-format.md, followed literally here, independently
 * of the runtime's loader), loads it, classifies three inputs and returns NULL, or a message
 * naming the first property that failed:
 *   - the file loads (it is valid by construction), and the getters agree with the config;
 *   - every classify succeeds; kept[i] is in [1, kept[i-1]] and equals it where the layer has
 *     no sampler; kept positions are ascending, start at 0 and are < n;
 *   - FLOPs equal the spec's formula (computed here from kept[]) and are <= ifc_dense_flops(n);
 *   - the same input gives bit-identical logits again after another input ran in between;
 *   - "bounded" models (weights in [-4, 4], any eps > 0): every logit is finite, threshold NaN
 *     gives what -inf gives, and -inf keeps every row.
 * "wild" models draw weights from NaN, +-inf, +-FLT_MAX, 1e30, subnormals and raw bit patterns:
 * only the structural properties are checked there (NaN in, NaN out is allowed).
 *
 * Shapes drawn: hidden 1..24, head_size 1..8, 0..3 layers of heads 0..3 / ffn 0..24 / sampler,
 * max_position 1..20, type_vocab 1..3, vocab 1..16, labels 1..4, every 2-D tensor F32, F16 or I8 (the
 * embedding tables also packed 4-bit U8),
 * layer_norm_eps in {1e-12, FLT_TRUE_MIN, 1e-5, 0.5}; tensors at the smallest alignment the spec allows, and
 * the file buffer itself shifted by one byte half of the time (the runtime must not assume
 * alignment of the caller's buffer). */
#ifndef IFC_FUZZ_MODEL_GEN_H
#define IFC_FUZZ_MODEL_GEN_H

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/inforcoef.h"

/* ---- byte stream: the input's bytes, then an xorshift stream seeded from them ---- */

typedef struct {
    const uint8_t *p;
    size_t n, i;
    uint64_t s;
} mg_stream;

static void mg_stream_init(mg_stream *st, const uint8_t *p, size_t n) {
    st->p = p;
    st->n = n;
    st->i = 0;
    st->s = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    for (size_t k = 0; k < n && k < 64; k++) st->s = (st->s ^ p[k]) * 0x100000001B3ull;
    if (!st->s) st->s = 1;
}

static uint32_t mg_u8(mg_stream *st) {
    if (st->i < st->n) return st->p[st->i++];
    st->s ^= st->s << 13;
    st->s ^= st->s >> 7;
    st->s ^= st->s << 17;
    return (uint32_t)(st->s >> 24) & 0xff;
}

static uint32_t mg_u32(mg_stream *st) {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) v = v << 8 | mg_u8(st);
    return v;
}

/* uniform-ish integer in [lo, hi] */
static int mg_range(mg_stream *st, int lo, int hi) { return lo + (int)(mg_u8(st) % (uint32_t)(hi - lo + 1)); }

/* ---- the model ---- */

#define MG_MAX_LAYERS 3

typedef struct {
    int hidden, head_size, max_position, type_vocab, vocab, labels, num_layers;
    int heads[MG_MAX_LAYERS], ffn[MG_MAX_LAYERS], sampler[MG_MAX_LAYERS];
    float eps, keep_threshold;
    int bounded; /* weights in [-4, 4] */
} mg_config;

/* growing byte buffer */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    int oom;
} mg_buf;

static void mg_put(mg_buf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void mg_printf(mg_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void mg_printf(mg_buf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0) mg_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* IEEE half from float, round to nearest even (exact for the bounded values, multiples of 1/64). */
static uint16_t mg_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return sign | 0x7e00;      /* NaN */
    if (ax >= 0x477ff000u) return sign | 0x7c00;     /* rounds past 65504: inf */
    if (ax < 0x33000001u) return sign;               /* rounds to 0 */
    int e = (int)(ax >> 23) - 127 + 15;
    uint32_t mant = (ax & 0x7fffff) | 0x800000, shift = e >= 1 ? 13 : (uint32_t)(14 - e);
    uint32_t h = mant >> shift, rest = mant & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (e >= 1) h = ((uint32_t)e << 10) | (h & 0x3ff);
    if (rest > halfway || (rest == halfway && (h & 1))) h++;
    return sign | (uint16_t)h;
}

/* One value for a weight. Bounded: a multiple of 1/64 in [-2, 2) (I8: q/512..q/32 in [-4, 4]). Wild: a palette of hostile
 * floats, or raw bits. */
static float mg_value(mg_stream *st, int bounded) {
    if (bounded) return (float)(int8_t)mg_u8(st) / 64.0f;
    static const float palette[] = {0.0f, -0.0f, 1.0f, -1.0f, 1e30f, -1e30f, FLT_MAX, -FLT_MAX, 1e-40f, -1e-40f,
                                    65504.0f, 1e-8f, 3.0f, -3.0f, 0.5f};
    uint32_t k = mg_u8(st);
    if (k < 16) return NAN;
    if (k < 24) return (k & 1) ? INFINITY : -INFINITY;
    if (k < 128) return palette[k % (sizeof palette / sizeof *palette)];
    if (k < 192) return (float)(int8_t)mg_u8(st) / 16.0f;
    uint32_t bits = mg_u32(st);
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

typedef struct {
    char name[96];
    int dtype; /* 0 F32, 1 F16, 2 I8, 3 U8 (packed 4-bit: the embedding tables only) */
    int rows, cols; /* cols 0: 1-D */
} mg_tensor;

/* The spec's tensor table for the config, in order (docs/model-format.md "Tensors"). */
static int mg_table(const mg_config *c, mg_tensor *t) {
    int n = 0;
    const int d = c->hidden;
#define T2(nm, r, cl) (snprintf(t[n].name, sizeof t[n].name, "%s", nm), t[n].rows = (r), t[n].cols = (cl), n++)
#define TL(i, sfx, r, cl) (snprintf(t[n].name, sizeof t[n].name, "encoder.layer.%d.%s", i, sfx), t[n].rows = (r), t[n].cols = (cl), n++)
    T2("embeddings.word_embeddings.weight", c->vocab, d);
    T2("embeddings.position_embeddings.weight", c->max_position, d);
    T2("embeddings.token_type_embeddings.weight", c->type_vocab, d);
    T2("embeddings.LayerNorm.weight", d, 0);
    T2("embeddings.LayerNorm.bias", d, 0);
    for (int i = 0; i < c->num_layers; i++) {
        const int a = c->heads[i] * c->head_size, f = c->ffn[i];
        if (c->sampler[i]) {
            TL(i, "sampler.ln1.weight", d, 0); TL(i, "sampler.ln1.bias", d, 0);
            TL(i, "sampler.dense1.weight", d, d); TL(i, "sampler.dense1.bias", d, 0);
            TL(i, "sampler.ln2.weight", d, 0); TL(i, "sampler.ln2.bias", d, 0);
            TL(i, "sampler.dense2.weight", 2, d); TL(i, "sampler.dense2.bias", 2, 0);
        }
        if (a > 0) {
            TL(i, "attention.self.query.weight", a, d); TL(i, "attention.self.query.bias", a, 0);
            TL(i, "attention.self.key.weight", a, d); TL(i, "attention.self.key.bias", a, 0);
            TL(i, "attention.self.value.weight", a, d); TL(i, "attention.self.value.bias", a, 0);
            TL(i, "attention.output.dense.weight", d, a); TL(i, "attention.output.dense.bias", d, 0);
            TL(i, "attention.output.LayerNorm.weight", d, 0); TL(i, "attention.output.LayerNorm.bias", d, 0);
        }
        if (f > 0) {
            TL(i, "intermediate.dense.weight", f, d); TL(i, "intermediate.dense.bias", f, 0);
            TL(i, "output.dense.weight", d, f); TL(i, "output.dense.bias", d, 0);
            TL(i, "output.LayerNorm.weight", d, 0); TL(i, "output.LayerNorm.bias", d, 0);
        }
    }
    T2("pooler.dense.weight", d, d);
    T2("pooler.dense.bias", d, 0);
    T2("classifier.weight", c->labels, d);
    T2("classifier.bias", c->labels, 0);
#undef T2
#undef TL
    return n;
}

#define MG_MAX_TENSORS (9 + MG_MAX_LAYERS * 24) /* globals + sampler 8, attention 10, FFN 6 per layer */

static void mg_draw_config(mg_stream *st, mg_config *c) {
    memset(c, 0, sizeof *c);
    c->bounded = (mg_u8(st) & 3) != 0; /* 3/4 bounded: those carry the finiteness oracle */
    c->hidden = mg_range(st, 1, 24);
    c->head_size = mg_range(st, 1, 8);
    c->max_position = mg_range(st, 1, 20);
    c->type_vocab = mg_range(st, 1, 3);
    c->vocab = mg_range(st, 1, 16);
    c->labels = mg_range(st, 1, 4);
    c->num_layers = mg_range(st, 0, MG_MAX_LAYERS);
    for (int i = 0; i < c->num_layers; i++) {
        c->heads[i] = mg_range(st, 0, 3);
        c->ffn[i] = mg_range(st, 0, 3) == 0 ? 0 : mg_range(st, 1, 24);
        c->sampler[i] = mg_u8(st) & 1;
    }
    static const float eps[4] = {1e-12f, FLT_TRUE_MIN, 1e-5f, 0.5f}; /* the smallest eps the loader takes */
    c->eps = eps[mg_u8(st) & 3];
    static const float thr[4] = {0.0f, -1.0f, 1.0f, -1e30f};
    c->keep_threshold = thr[mg_u8(st) & 3];
}

/* Writes the model file for c, weights drawn from st. Returns a malloc'd buffer (NULL: OOM). */
static uint8_t *mg_write(mg_stream *st, const mg_config *c, size_t *len) {
    mg_tensor t[MG_MAX_TENSORS];
    const int count = mg_table(c, t);
    /* the first three are the embedding tables (mg_table), which may also be packed 4-bit */
    for (int k = 0; k < count; k++) t[k].dtype = t[k].cols ? (int)(mg_u8(st) % (k < 3 ? 4 : 3)) : 0;

    /* data area: tensors in table order, each at the smallest alignment its dtype allows */
    mg_buf data = {0}, hdr = {0};
    mg_printf(&hdr, "{\"__metadata__\":{\"format\":\"inforcoef\",\"config\":\"{\\\"format_version\\\":1,"
                    "\\\"hidden_size\\\":%d,\\\"head_size\\\":%d,\\\"max_position\\\":%d,\\\"type_vocab_size\\\":%d,"
                    "\\\"vocab_size\\\":%d,\\\"layer_norm_eps\\\":%.9g,\\\"keep_threshold\\\":%.9g,\\\"labels\\\":[",
              c->hidden, c->head_size, c->max_position, c->type_vocab, c->vocab, (double)c->eps, (double)c->keep_threshold);
    for (int l = 0; l < c->labels; l++) mg_printf(&hdr, "%s\\\"L%d\\\"", l ? "," : "", l);
    mg_printf(&hdr, "],\\\"layers\\\":[");
    for (int i = 0; i < c->num_layers; i++)
        mg_printf(&hdr, "%s{\\\"heads\\\":%d,\\\"ffn\\\":%d,\\\"sampler\\\":%s}", i ? "," : "", c->heads[i], c->ffn[i],
                  c->sampler[i] ? "true" : "false");
    mg_printf(&hdr, "]}\",\"vocab\":\"");
    for (int v = 0; v < c->vocab; v++) mg_printf(&hdr, "%stok%d", v ? "\\n" : "", v);
    mg_printf(&hdr, "\"}");

    for (int k = 0; k < count; k++) {
        const int file_cols = t[k].dtype == 3 ? (t[k].cols + 1) / 2 : t[k].cols; /* U8: two codes a byte */
        const size_t elems = (size_t)t[k].rows * (size_t)(file_cols ? file_cols : 1);
        const size_t esize = t[k].dtype == 0 ? 4 : t[k].dtype == 1 ? 2 : 1;
        while (data.len % esize) mg_put(&data, "\0", 1);
        const size_t begin = data.len;
        for (size_t e = 0; e < elems; e++) {
            if (t[k].dtype == 0) {
                float v = mg_value(st, c->bounded);
                mg_put(&data, &v, 4); /* little-endian hosts only (x86, arm, wasm) */
            } else if (t[k].dtype == 1) {
                uint16_t h = c->bounded ? mg_f32_to_f16(mg_value(st, 1)) : (uint16_t)(mg_u8(st) | mg_u8(st) << 8);
                mg_put(&data, &h, 2);
            } else { /* I8: -128 included, U8: any two codes (-8 and a nonzero pad nibble included); the
                      * exporter never writes those, the format allows them */
                uint8_t q = mg_u8(st);
                mg_put(&data, &q, 1);
            }
        }
        static const char *const dtype_names[4] = {"F32", "F16", "I8", "U8"};
        const char *dt = dtype_names[t[k].dtype];
        if (t[k].cols)
            mg_printf(&hdr, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}", t[k].name, dt,
                      t[k].rows, file_cols, begin, data.len);
        else
            mg_printf(&hdr, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", t[k].name, dt,
                      t[k].rows, begin, data.len);
        if (t[k].dtype >= 2) { /* the row scales: bounded (0, 1/32], wild from the palette */
            while (data.len % 4) mg_put(&data, "\0", 1);
            const size_t sb = data.len;
            for (int r = 0; r < t[k].rows; r++) {
                float s = c->bounded ? (float)(mg_u8(st) % 16 + 1) / 512.0f : mg_value(st, 0);
                mg_put(&data, &s, 4);
            }
            mg_printf(&hdr, ",\"%s_scale\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", t[k].name,
                      t[k].rows, sb, data.len);
        }
    }
    mg_printf(&hdr, "}");
    const int pad = (int)(mg_u8(st) % 9); /* trailing spaces the spec allows */
    for (int p = 0; p < pad; p++) mg_put(&hdr, " ", 1);

    uint8_t *file = NULL;
    if (!hdr.oom && !data.oom && (file = malloc(8 + hdr.len + data.len + 1)) != NULL) {
        for (int b = 0; b < 8; b++) file[b] = (uint8_t)((uint64_t)hdr.len >> (8 * b));
        memcpy(file + 8, hdr.p, hdr.len);
        if (data.len) memcpy(file + 8 + hdr.len, data.p, data.len);
        *len = 8 + hdr.len + data.len;
    }
    free(hdr.p);
    free(data.p);
    return file;
}

/* FLOPs of docs/model-format.md "FLOPs accounting", from the kept rows per layer. */
static uint64_t mg_flops(const mg_config *c, int n, const int *kept) {
    const uint64_t d = (uint64_t)c->hidden;
    uint64_t total = 0, m = (uint64_t)n;
    for (int i = 0; i < c->num_layers; i++) {
        const uint64_t ni = (uint64_t)kept[i], a = (uint64_t)(c->heads[i] * c->head_size), f = (uint64_t)c->ffn[i];
        if (c->sampler[i]) total += 2 * (m - 1) * (d * d + 2 * d);
        if (a) total += 2 * ni * d * 3 * a + 2 * ni * ni * a + 2 * ni * ni * a + 2 * ni * a * d;
        if (f) total += 2 * ni * d * f + 2 * ni * f * d;
        m = ni;
    }
    return total + 2 * d * d + 2 * d * (uint64_t)c->labels;
}

/* Runs one input and checks the structural properties. Logits into out[labels]. */
static const char *mg_run(ifc_model *m, const mg_config *c, const int32_t *ids, const int32_t *types, int n, float thr,
                          float *out, int *kept) {
    ifc_set_threshold(m, thr);
    if (ifc_classify(m, ids, types, n, out) != IFC_OK) return "classify of a valid input failed";
    int prev = n;
    for (int i = 0; i < c->num_layers; i++) {
        kept[i] = ifc_stat_kept(m, i);
        if (kept[i] < 1 || kept[i] > prev) return "kept rows outside [1, previous layer's]";
        if (!c->sampler[i] && kept[i] != prev) return "a layer without a sampler dropped rows";
        const int32_t *pos = ifc_stat_kept_positions(m, i);
        if (!pos || pos[0] != 0) return "kept positions do not start with [CLS] (0)";
        for (int j = 1; j < kept[i]; j++)
            if (pos[j] <= pos[j - 1] || pos[j] >= n) return "kept positions not ascending inside [0, n)";
        prev = kept[i];
    }
    if (ifc_stat_flops(m) != mg_flops(c, n, kept)) return "FLOPs differ from the spec's formula";
    if (ifc_stat_flops(m) > ifc_dense_flops(m, n)) return "FLOPs exceed the dense FLOPs";
    return NULL;
}

static const char *mg_check_model(mg_stream *st, const mg_config *c, const uint8_t *file, size_t len) {
    ifc_model *m = NULL;
    if (ifc_model_load(file, len, &m) != IFC_OK) return "a valid model file was refused";
    const char *why = NULL;
    if (ifc_num_layers(m) != c->num_layers || ifc_num_labels(m) != c->labels || ifc_max_length(m) != c->max_position ||
        ifc_hidden_size(m) != c->hidden || ifc_get_threshold(m) != c->keep_threshold)
        why = "getters disagree with the config";
    int32_t ids[2][20], types[2][20];
    int n[2];
    float a[4], b[4], x[4];
    int kept[MG_MAX_LAYERS + 1], kept_inf[MG_MAX_LAYERS + 1];
    static const float thr_palette[8] = {0.0f, 1.0f, -1.0f, 1e30f, -1e30f, INFINITY, -INFINITY, NAN};
    for (int r = 0; r < 2; r++) {
        n[r] = mg_range(st, 1, c->max_position);
        for (int j = 0; j < n[r]; j++) {
            ids[r][j] = (int32_t)(mg_u8(st) % (uint32_t)c->vocab);
            types[r][j] = (int32_t)(mg_u8(st) % (uint32_t)c->type_vocab);
        }
    }
    const float thr = thr_palette[mg_u8(st) & 7];
    if (!why) why = mg_run(m, c, ids[0], types[0], n[0], thr, a, kept);
    if (!why) why = mg_run(m, c, ids[1], types[1], n[1], c->keep_threshold, x, kept);
    if (!why) why = mg_run(m, c, ids[0], types[0], n[0], thr, b, kept);
    if (!why && memcmp(a, b, (size_t)c->labels * sizeof *a) != 0) why = "the same input gave different logits";
    if (!why && c->bounded) {
        for (int l = 0; l < c->labels; l++)
            if (!isfinite(a[l]) || !isfinite(x[l])) why = "non-finite logit from bounded weights";
        if (!why) why = mg_run(m, c, ids[0], types[0], n[0], -INFINITY, a, kept_inf);
        for (int i = 0; !why && i < c->num_layers; i++)
            if (kept_inf[i] != n[0]) why = "threshold -inf dropped a row of a bounded model";
        if (!why) why = mg_run(m, c, ids[0], types[0], n[0], NAN, b, kept);
        if (!why && (memcmp(a, b, (size_t)c->labels * sizeof *a) != 0 || ifc_get_threshold(m) != -INFINITY))
            why = "threshold NaN differs from -inf";
    }
    ifc_model_free(m);
    return why;
}

/* The whole property check for one byte string. NULL: every property holds. */
static const char *mg_check(const uint8_t *bytes, size_t size) {
    mg_stream st;
    mg_stream_init(&st, bytes, size);
    mg_config c;
    mg_draw_config(&st, &c);
    const int shift = (int)(mg_u8(&st) & 1);
    size_t len = 0;
    uint8_t *file = mg_write(&st, &c, &len);
    if (!file) return NULL; /* out of memory building the file: nothing to check */
    const char *why;
    if (shift) { /* the same bytes at an odd address */
        uint8_t *odd = malloc(len + 1);
        if (!odd) { free(file); return NULL; }
        memcpy(odd + 1, file, len);
        why = mg_check_model(&st, &c, odd + 1, len);
        free(odd);
    } else {
        why = mg_check_model(&st, &c, file, len);
    }
    free(file);
    return why;
}

#endif
