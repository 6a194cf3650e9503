/* Malformed model buffers, all generated from the real fixture files: truncations, broken header
 * lengths, broken JSON, bad dtypes / shapes / offsets, config inconsistencies, absurd sizes,
 * random mutations. Each must give an error code and a message, never a crash or an
 * out-of-bounds read (run this binary under ASan/UBSan: ./build.sh --sanitize). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

typedef struct {
    uint8_t *buf;
    size_t len;
} blob;

/* The fixture split into its parts. */
typedef struct {
    uint8_t *file;
    size_t len;
    size_t header_len; /* N */
    const uint8_t *data;
    size_t data_len;
    uint64_t max_end; /* largest data_offsets END */
    int sampler_layer, plain_layer, ffn_layer; /* first layer with a sampler / without / with an FFN; -1 if none */
} model_file;

static int load_parts(const char *dir, const char *name, const char *dtype, model_file *mf) {
    memset(mf, 0, sizeof *mf);
    mf->file = read_fixture_model(dir, name, dtype, &mf->len);
    if (!mf->file || mf->len < 8) return 0;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | mf->file[i];
    if (n > mf->len - 8) return 0;
    mf->header_len = (size_t)n;
    mf->data = mf->file + 8 + n;
    mf->data_len = mf->len - 8 - (size_t)n;
    cJSON *h = cJSON_ParseWithLength((const char *)mf->file + 8, mf->header_len);
    const cJSON *t;
    cJSON_ArrayForEach(t, h) {
        const cJSON *offs = cJSON_GetObjectItem(t, "data_offsets");
        if (offs && (uint64_t)cJSON_GetArrayItem(offs, 1)->valuedouble > mf->max_end)
            mf->max_end = (uint64_t)cJSON_GetArrayItem(offs, 1)->valuedouble;
    }
    mf->sampler_layer = mf->plain_layer = mf->ffn_layer = -1;
    cJSON *cfg = cJSON_Parse(cJSON_GetObjectItem(cJSON_GetObjectItem(h, "__metadata__"), "config")->valuestring);
    int i = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(cfg, "layers")) {
        int smp = cJSON_IsTrue(cJSON_GetObjectItem(t, "sampler"));
        if (smp && mf->sampler_layer < 0) mf->sampler_layer = i;
        if (!smp && mf->plain_layer < 0) mf->plain_layer = i;
        if (cJSON_GetObjectItem(t, "ffn")->valuedouble > 0 && mf->ffn_layer < 0) mf->ffn_layer = i;
        i++;
    }
    cJSON_Delete(cfg);
    cJSON_Delete(h);
    return 1;
}

/* file = u64 LE N | header text padded with spaces to a multiple of 8 | data */
static blob make_file(const char *header, size_t hlen, const uint8_t *data, size_t data_len) {
    size_t padded = (hlen + 7) / 8 * 8;
    blob b = {malloc(8 + padded + data_len), 8 + padded + data_len};
    for (int i = 0; i < 8; i++) b.buf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    memcpy(b.buf + 8, header, hlen);
    memset(b.buf + 8 + hlen, ' ', padded - hlen);
    if (data_len) memcpy(b.buf + 8 + padded, data, data_len);
    return b;
}

typedef void (*header_edit)(cJSON *root, const void *arg);

/* The fixture with its header JSON edited. */
static blob edited(const model_file *mf, header_edit edit, const void *arg) {
    cJSON *root = cJSON_ParseWithLength((const char *)mf->file + 8, mf->header_len);
    edit(root, arg);
    char *text = cJSON_PrintUnformatted(root);
    blob b = make_file(text, strlen(text), mf->data, mf->data_len);
    free(text);
    cJSON_Delete(root);
    return b;
}

/* Load must fail with `want` (or any error when want == IFC_OK) and a non-empty message. */
static int expect_error(blob b, ifc_status want, const char *label) {
    ifc_model *m = NULL;
    ifc_status st = ifc_model_load(b.buf, b.len, &m);
    int ok = st != IFC_OK && (want == IFC_OK || st == want) && m == NULL && ifc_last_error()[0] != '\0';
    if (label) test_result(ok, label, "status %d: %s", st, ifc_last_error());
    if (m) ifc_model_free(m);
    free(b.buf);
    return ok;
}

/* ---- header edits ---- */

static cJSON *tensor(cJSON *root, const char *name) { return cJSON_GetObjectItemCaseSensitive(root, name); }

static void set_offsets(cJSON *t, double begin, double end) {
    cJSON *offs = cJSON_GetObjectItem(t, "data_offsets");
    cJSON_SetNumberValue(cJSON_GetArrayItem(offs, 0), begin);
    cJSON_SetNumberValue(cJSON_GetArrayItem(offs, 1), end);
}
static double off(cJSON *t, int i) { return cJSON_GetArrayItem(cJSON_GetObjectItem(t, "data_offsets"), i)->valuedouble; }

static void e_offsets_past_end(cJSON *r, const void *a) {
    (void)a;
    cJSON *t = tensor(r, "classifier.bias");
    set_offsets(t, off(t, 0) + 1e6, off(t, 1) + 1e6);
}
static void e_offsets_reversed(cJSON *r, const void *a) {
    (void)a;
    cJSON *t = tensor(r, "classifier.bias");
    set_offsets(t, off(t, 1), off(t, 0));
}
static void e_offsets_overlap(cJSON *r, const void *a) {
    (void)a; /* two [d] F32 tensors sharing bytes */
    cJSON *x = tensor(r, "embeddings.LayerNorm.weight"), *y = tensor(r, "embeddings.LayerNorm.bias");
    set_offsets(y, off(x, 0), off(x, 1));
}
static void e_offsets_partial_overlap(cJSON *r, const void *a) {
    (void)a; /* shift a tensor by 8 bytes into its neighbour (alignment kept) */
    cJSON *t = tensor(r, "embeddings.LayerNorm.weight");
    set_offsets(t, off(t, 0) + 8, off(t, 1) + 8);
}
static void e_offsets_size(cJSON *r, const void *a) {
    (void)a;
    cJSON *t = tensor(r, "pooler.dense.bias");
    set_offsets(t, off(t, 0), off(t, 1) - 4);
}
static void e_offsets_misaligned(cJSON *r, const void *a) {
    (void)a;
    cJSON *t = tensor(r, "embeddings.LayerNorm.bias");
    set_offsets(t, off(t, 0) + 2, off(t, 1) + 2);
}
static void e_offsets_negative(cJSON *r, const void *a) {
    (void)a;
    set_offsets(tensor(r, "classifier.bias"), -4, 4);
}
static void e_offsets_not_pair(cJSON *r, const void *a) {
    (void)a;
    cJSON_AddItemToArray(cJSON_GetObjectItem(tensor(r, "classifier.bias"), "data_offsets"), cJSON_CreateNumber(0));
}
static void e_dtype(cJSON *r, const void *a) {
    cJSON_ReplaceItemInObject(tensor(r, "pooler.dense.weight"), "dtype", cJSON_CreateString((const char *)a));
}
static void e_dtype_number(cJSON *r, const void *a) {
    (void)a;
    cJSON_ReplaceItemInObject(tensor(r, "pooler.dense.weight"), "dtype", cJSON_CreateNumber(1));
}
static void e_shape_entry(cJSON *r, const void *a) {
    cJSON *shape = cJSON_GetObjectItem(tensor(r, "pooler.dense.weight"), "shape");
    cJSON_ReplaceItemInArray(shape, 0, cJSON_Parse((const char *)a));
}
static void e_shape_rank9(cJSON *r, const void *a) {
    (void)a;
    cJSON *shape = cJSON_GetObjectItem(tensor(r, "classifier.bias"), "shape");
    for (int i = 0; i < 8; i++) cJSON_AddItemToArray(shape, cJSON_CreateNumber(1));
}
static void e_shape_huge_product(cJSON *r, const void *a) {
    (void)a; /* 2^40 * 2^40 * 4 overflows 64 bits */
    cJSON *shape = cJSON_GetObjectItem(tensor(r, "pooler.dense.weight"), "shape");
    cJSON_ReplaceItemInArray(shape, 0, cJSON_CreateNumber(1099511627776.0));
    cJSON_ReplaceItemInArray(shape, 1, cJSON_CreateNumber(1099511627776.0));
}
/* Swap the two dims of tensor `a`, or of the first non-square 2-D layer tensor when a is NULL. */
static void e_transpose(cJSON *r, const void *a) {
    cJSON *t = a ? tensor(r, (const char *)a) : NULL;
    for (cJSON *it = r->child; !t && it; it = it->next) {
        cJSON *sh = cJSON_GetObjectItem(it, "shape");
        if (strncmp(it->string, "encoder.layer.", 14) == 0 && cJSON_GetArraySize(sh) == 2 &&
            cJSON_GetArrayItem(sh, 0)->valuedouble != cJSON_GetArrayItem(sh, 1)->valuedouble)
            t = it;
    }
    cJSON *shape = cJSON_GetObjectItem(t, "shape");
    double r0 = cJSON_GetArrayItem(shape, 0)->valuedouble, r1 = cJSON_GetArrayItem(shape, 1)->valuedouble;
    cJSON_SetNumberValue(cJSON_GetArrayItem(shape, 0), r1);
    cJSON_SetNumberValue(cJSON_GetArrayItem(shape, 1), r0);
}
static void e_bias_as_f16(cJSON *r, const void *a) {
    (void)a; /* same bytes, F16 of twice the length: a 1-D tensor that is not F32 */
    cJSON *t = tensor(r, "classifier.bias");
    cJSON *shape = cJSON_GetObjectItem(t, "shape");
    cJSON_SetNumberValue(cJSON_GetArrayItem(shape, 0), cJSON_GetArrayItem(shape, 0)->valuedouble * 2);
    cJSON_ReplaceItemInObject(t, "dtype", cJSON_CreateString("F16"));
}
/* The word table's dtype and shape, from a JSON pair like ["I8", [120, 12]]. */
static void e_word_table(cJSON *r, const void *a) {
    cJSON *spec = cJSON_Parse((const char *)a), *t = tensor(r, "embeddings.word_embeddings.weight");
    cJSON_ReplaceItemInObject(t, "dtype", cJSON_Duplicate(cJSON_GetArrayItem(spec, 0), 1));
    cJSON_ReplaceItemInObject(t, "shape", cJSON_Duplicate(cJSON_GetArrayItem(spec, 1), 1));
    cJSON_Delete(spec);
}
static void e_delete(cJSON *r, const void *a) { cJSON_DeleteItemFromObjectCaseSensitive(r, (const char *)a); }
static void e_rename(cJSON *r, const void *a) {
    const char *const *names = a; /* {from, to} */
    cJSON *t = cJSON_DetachItemFromObjectCaseSensitive(r, names[0]);
    cJSON_AddItemToObject(r, names[1], t);
}
static void e_duplicate(cJSON *r, const void *a) {
    (void)a;
    cJSON_AddItemToObject(r, "classifier.bias", cJSON_Duplicate(tensor(r, "classifier.bias"), 1));
}
static void e_meta(cJSON *r, const void *a) {
    const char *const *kv = a; /* {key, value or NULL to delete} */
    cJSON *meta = cJSON_GetObjectItem(r, "__metadata__");
    if (kv[1]) cJSON_ReplaceItemInObject(meta, kv[0], cJSON_CreateString(kv[1]));
    else cJSON_DeleteItemFromObject(meta, kv[0]);
}
static void e_meta_number(cJSON *r, const void *a) {
    (void)a;
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(r, "__metadata__"), "format", cJSON_CreateNumber(7));
}
static void e_vocab_extra_line(cJSON *r, const void *a) {
    (void)a;
    cJSON *meta = cJSON_GetObjectItem(r, "__metadata__");
    const char *v = cJSON_GetObjectItem(meta, "vocab")->valuestring;
    char *nv = malloc(strlen(v) + 8);
    sprintf(nv, "%s\nextra", v);
    cJSON_ReplaceItemInObject(meta, "vocab", cJSON_CreateString(nv));
    free(nv);
}
static void e_vocab_drop_last_line(cJSON *r, const void *a) {
    (void)a;
    cJSON *meta = cJSON_GetObjectItem(r, "__metadata__");
    const char *v = cJSON_GetObjectItem(meta, "vocab")->valuestring;
    char *nv = strcpy(malloc(strlen(v) + 1), v);
    *strrchr(nv, '\n') = '\0';
    cJSON_ReplaceItemInObject(meta, "vocab", cJSON_CreateString(nv));
    free(nv);
}
/* Refused as IFC_ERR_MODEL with a message that names both counts. */
static void expect_vocab_count_error(blob b, const char *label) {
    ifc_model *m = NULL;
    const ifc_status st = ifc_model_load(b.buf, b.len, &m);
    test_result(st == IFC_ERR_MODEL && m == NULL && strstr(ifc_last_error(), " lines but config vocab_size is ") != NULL, label,
                "status %d: %s", st, ifc_last_error());
    ifc_model_free(m);
    free(b.buf);
}
/* Token a[0] (an index, as text) of the vocabulary replaced by a[1]. */
static void e_vocab_token(cJSON *r, const void *a) {
    const char *const *kv = a;
    cJSON *meta = cJSON_GetObjectItem(r, "__metadata__");
    const char *v = cJSON_GetObjectItem(meta, "vocab")->valuestring;
    char *nv = malloc(strlen(v) + strlen(kv[1]) + 1), *out = nv;
    int line = 0;
    const int target = atoi(kv[0]);
    for (const char *p = v;; p++) {
        if (line == target) {
            out += sprintf(out, "%s", kv[1]);
            while (*p && *p != '\n') p++;
            line = -1; /* done */
        }
        if (!*p) break;
        *out++ = *p;
        if (*p == '\n' && line >= 0) line++;
    }
    *out = '\0';
    cJSON_ReplaceItemInObject(meta, "vocab", cJSON_CreateString(nv));
    free(nv);
}
/* Edit the config object inside __metadata__: arg = {key, JSON value text} on the top level,
 * or {"layers.I.KEY", value} on layer I; a NULL value deletes the key. */
static void e_config(cJSON *r, const void *a) {
    const char *const *kv = a;
    cJSON *meta = cJSON_GetObjectItem(r, "__metadata__");
    cJSON *cfg = cJSON_Parse(cJSON_GetObjectItem(meta, "config")->valuestring);
    cJSON *target = cfg;
    const char *key = kv[0];
    if (strncmp(key, "layers.", 7) == 0) {
        char *end;
        long i = strtol(key + 7, &end, 10);
        target = cJSON_GetArrayItem(cJSON_GetObjectItem(cfg, "layers"), (int)i);
        key = end + 1;
    }
    if (kv[1]) {
        cJSON *v = cJSON_Parse(kv[1]);
        if (cJSON_GetObjectItem(target, key)) cJSON_ReplaceItemInObject(target, key, v);
        else cJSON_AddItemToObject(target, key, v);
    } else {
        cJSON_DeleteItemFromObject(target, key);
    }
    char *text = cJSON_PrintUnformatted(cfg);
    cJSON_ReplaceItemInObject(meta, "config", cJSON_CreateString(text));
    free(text);
    cJSON_Delete(cfg);
}
static void e_config_many_layers(cJSON *r, const void *a) {
    (void)a;
    cJSON *meta = cJSON_GetObjectItem(r, "__metadata__");
    cJSON *cfg = cJSON_Parse(cJSON_GetObjectItem(meta, "config")->valuestring);
    cJSON *layers = cJSON_CreateArray();
    for (int i = 0; i < 5000; i++) cJSON_AddItemToArray(layers, cJSON_Parse("{\"heads\":0,\"ffn\":0,\"sampler\":false}"));
    cJSON_ReplaceItemInObject(cfg, "layers", layers);
    char *text = cJSON_PrintUnformatted(cfg);
    cJSON_ReplaceItemInObject(meta, "config", cJSON_CreateString(text));
    free(text);
    cJSON_Delete(cfg);
}

/* ---- raw-byte cases ---- */

static blob with_length(const model_file *mf, uint64_t n) {
    blob b = {malloc(mf->len), mf->len};
    memcpy(b.buf, mf->file, mf->len);
    for (int i = 0; i < 8; i++) b.buf[i] = (uint8_t)(n >> (8 * i));
    return b;
}

static blob raw_header(const model_file *mf, const char *text, size_t len) {
    return make_file(text, len, mf->data, mf->data_len);
}

static void truncation_tests(const model_file *mf, const char *tag) {
    char label[160];
    /* every prefix up to the end of the header (8 + N bytes: header complete, data missing) */
    size_t bad = (size_t)-1, header_end = 8 + mf->header_len;
    for (size_t cut = 0; cut <= header_end && bad == (size_t)-1; cut++) {
        blob b = {malloc(cut + 1), cut};
        memcpy(b.buf, mf->file, cut);
        if (!expect_error(b, IFC_ERR_FORMAT, NULL)) bad = cut;
    }
    snprintf(label, sizeof label, "malformed %s truncated at each of the %zu header bytes -> IFC_ERR_FORMAT", tag, header_end + 1);
    test_result(bad == (size_t)-1, label, bad == (size_t)-1 ? "" : "accepted or wrong code at %zu bytes", bad);
    /* 256 points spread over the data area, up to one byte short of the last tensor's end */
    size_t data_end = 8 + mf->header_len + (size_t)mf->max_end, tried = 0;
    bad = (size_t)-1;
    for (int i = 0; i < 256 && bad == (size_t)-1; i++) {
        size_t cut = header_end + 1 + (size_t)((double)(data_end - 1 - header_end - 1) * i / 255.0);
        if (cut >= data_end) continue;
        blob b = {malloc(cut + 1), cut};
        memcpy(b.buf, mf->file, cut);
        tried++;
        if (!expect_error(b, IFC_ERR_FORMAT, NULL)) bad = cut;
    }
    snprintf(label, sizeof label, "malformed %s truncated at %zu points in the data area -> IFC_ERR_FORMAT", tag, tried);
    test_result(bad == (size_t)-1, label, bad == (size_t)-1 ? "" : "accepted or wrong code at %zu bytes", bad);
    blob b = {malloc(data_end), data_end - 1};
    memcpy(b.buf, mf->file, data_end - 1);
    snprintf(label, sizeof label, "malformed %s one byte short", tag);
    expect_error(b, IFC_ERR_FORMAT, label);
}

/* Random mutations of the header and the first data bytes: any outcome but a crash. Runs a
 * classification on each mutant that still loads. xorshift PRNG with a fixed seed. */
static void mutation_tests(const model_file *mf, const char *tag, int rounds) {
    uint64_t s = 0x9E3779B97F4A7C15ull;
    int loaded = 0, refused = 0, bad = 0;
    for (int i = 0; i < rounds; i++) {
        blob b = {malloc(mf->len), mf->len};
        memcpy(b.buf, mf->file, mf->len);
        int flips = 1 + (int)(s % 4);
        for (int k = 0; k < flips; k++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            size_t span = 8 + mf->header_len + 64 < mf->len ? 8 + mf->header_len + 64 : mf->len;
            size_t pos = (size_t)(s % span);
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            static const uint8_t interesting[] = {'0', '9', '"', ',', ']', '}', '-', '.', 'e', 0, 0xff, ' ', '[', '{'};
            b.buf[pos] = (s & 1) ? interesting[(s >> 1) % sizeof interesting] : (uint8_t)(s >> 8);
        }
        ifc_model *m = NULL;
        ifc_status st = ifc_model_load(b.buf, b.len, &m);
        if (st == IFC_OK) {
            loaded++;
            int32_t ids[4] = {2, 5, 6, 3}, types[4] = {0, 0, 0, 0};
            float logits[64];
            if (ifc_num_labels(m) <= 64 && ifc_max_length(m) >= 4) ifc_classify(m, ids, types, 4, logits);
            ifc_model_free(m);
        } else {
            refused++;
            if (ifc_last_error()[0] == '\0' || m != NULL) bad++;
        }
        free(b.buf);
    }
    char label[160];
    snprintf(label, sizeof label, "malformed %s %d random header mutations: no crash, every refusal has a message", tag, rounds);
    test_result(bad == 0, label, "%d loaded, %d refused, %d bad", loaded, refused, bad);
}

void run_malformed_tests(const char *dir) {
    model_file mf, mi;
    if (!load_parts(dir, "sampled", "f32", &mf)) {
        test_result(0, "malformed: read sampled.f32 fixture", "missing or unreadable");
        return;
    }
    truncation_tests(&mf, "sampled.f32");

    expect_error(with_length(&mf, 0), IFC_ERR_FORMAT, "malformed header length 0");
    expect_error(with_length(&mf, 1), IFC_ERR_FORMAT, "malformed header length 1");
    expect_error(with_length(&mf, (uint64_t)1 << 63), IFC_ERR_FORMAT, "malformed header length 2^63");
    expect_error(with_length(&mf, UINT64_MAX), IFC_ERR_FORMAT, "malformed header length 2^64-1");
    expect_error(with_length(&mf, 100000001), IFC_ERR_FORMAT, "malformed header length 100000001 (over the limit)");
    expect_error(with_length(&mf, mf.len - 8 + 1), IFC_ERR_FORMAT, "malformed header length file size - 7 (past the end)");
    expect_error(with_length(&mf, mf.header_len - 16), IFC_ERR_FORMAT, "malformed header length shorter than the JSON");
    expect_error(with_length(&mf, mf.header_len + 16), IFC_ERR_FORMAT, "malformed header length longer than the JSON (data bytes in it)");
    {
        blob b = {malloc(4), 4};
        memcpy(b.buf, "\x10\0\0\0", 4);
        expect_error(b, IFC_ERR_FORMAT, "malformed 4-byte file");
    }
    const char *not_json = "this is not JSON at all";
    expect_error(raw_header(&mf, not_json, strlen(not_json)), IFC_ERR_FORMAT, "malformed header not JSON");
    expect_error(raw_header(&mf, "[1, 2, 3]", 9), IFC_ERR_FORMAT, "malformed header a JSON array");
    expect_error(raw_header(&mf, "{\"a\": 1} {", 10), IFC_ERR_FORMAT, "malformed header with trailing bytes");
    expect_error(raw_header(&mf, "{\"a\"\0: 1}", 9), IFC_ERR_FORMAT, "malformed header with a NUL byte");
    expect_error(raw_header(&mf, "{\"\xc3\x28\": 1}", 9), IFC_ERR_FORMAT, "malformed header not UTF-8 (bad continuation)");
    expect_error(raw_header(&mf, "{\"\xed\xa0\x80\": 1}", 10), IFC_ERR_FORMAT, "malformed header not UTF-8 (surrogate)");
    expect_error(raw_header(&mf, "{\"\xc0\xaf\": 1}", 9), IFC_ERR_FORMAT, "malformed header not UTF-8 (overlong)");
    {
        /* a foreign file: PNG magic */
        blob b = {malloc(64), 64};
        memset(b.buf, 0, 64);
        memcpy(b.buf, "\x89PNG\r\n\x1a\n", 8);
        expect_error(b, IFC_ERR_FORMAT, "malformed foreign file (PNG magic)");
    }
    {
        /* deeply nested JSON (cJSON's nesting limit) */
        char deep[5000];
        memset(deep, '[', 2500);
        memset(deep + 2500, ']', 2500);
        expect_error(raw_header(&mf, deep, sizeof deep), IFC_ERR_FORMAT, "malformed header nested 2500 deep");
    }

    expect_error(edited(&mf, e_offsets_past_end, NULL), IFC_ERR_FORMAT, "malformed data_offsets past the end");
    expect_error(edited(&mf, e_offsets_reversed, NULL), IFC_ERR_FORMAT, "malformed data_offsets reversed");
    expect_error(edited(&mf, e_offsets_overlap, NULL), IFC_ERR_FORMAT, "malformed tensors overlapping (same bytes)");
    expect_error(edited(&mf, e_offsets_partial_overlap, NULL), IFC_ERR_FORMAT, "malformed tensors overlapping (shifted)");
    expect_error(edited(&mf, e_offsets_size, NULL), IFC_ERR_FORMAT, "malformed data_offsets span != shape x dtype");
    expect_error(edited(&mf, e_offsets_misaligned, NULL), IFC_ERR_FORMAT, "malformed F32 tensor not 4-byte aligned");
    expect_error(edited(&mf, e_offsets_negative, NULL), IFC_ERR_FORMAT, "malformed data_offsets negative");
    expect_error(edited(&mf, e_offsets_not_pair, NULL), IFC_ERR_FORMAT, "malformed data_offsets with 3 entries");
    expect_error(edited(&mf, e_dtype, "F64"), IFC_ERR_FORMAT, "malformed dtype F64");
    expect_error(edited(&mf, e_dtype, "BF16"), IFC_ERR_FORMAT, "malformed dtype BF16");
    expect_error(edited(&mf, e_dtype, "I8"), IFC_ERR_FORMAT, "malformed dtype I8 on F32 bytes (size mismatch)");
    expect_error(edited(&mf, e_dtype_number, NULL), IFC_ERR_FORMAT, "malformed dtype not a string");
    expect_error(edited(&mf, e_shape_entry, "-1"), IFC_ERR_FORMAT, "malformed shape entry negative");
    expect_error(edited(&mf, e_shape_entry, "1.5"), IFC_ERR_FORMAT, "malformed shape entry fractional");
    expect_error(edited(&mf, e_shape_entry, "\"8\""), IFC_ERR_FORMAT, "malformed shape entry a string");
    expect_error(edited(&mf, e_shape_entry, "1e300"), IFC_ERR_FORMAT, "malformed shape entry 1e300");
    expect_error(edited(&mf, e_shape_rank9, NULL), IFC_ERR_FORMAT, "malformed rank 9");
    expect_error(edited(&mf, e_shape_huge_product, NULL), IFC_ERR_FORMAT, "malformed shape product overflows 64 bits");
    expect_error(edited(&mf, e_meta_number, NULL), IFC_ERR_FORMAT, "malformed __metadata__ value not a string");

    expect_error(edited(&mf, e_transpose, NULL), IFC_ERR_MODEL,
                 "malformed shape inconsistent with config (a layer weight transposed)");
    expect_error(edited(&mf, e_transpose, "classifier.weight"), IFC_ERR_MODEL,
                 "malformed shape inconsistent with config (classifier transposed)");
    expect_error(edited(&mf, e_bias_as_f16, NULL), IFC_ERR_MODEL, "malformed 1-D tensor in F16");
    expect_error(edited(&mf, e_delete, "classifier.bias"), IFC_ERR_MODEL, "malformed missing tensor classifier.bias");
    expect_error(edited(&mf, e_delete, "embeddings.word_embeddings.weight"), IFC_ERR_MODEL, "malformed missing word embeddings");
    char name[128], key[64];
    snprintf(name, sizeof name, "encoder.layer.%d.sampler.dense2.weight", mf.sampler_layer);
    expect_error(edited(&mf, e_delete, name), IFC_ERR_MODEL, "malformed missing sampler tensor");
    {
        /* config says no sampler where the file has one: the sampler tensors are then unexpected */
        snprintf(key, sizeof key, "layers.%d.sampler", mf.sampler_layer);
        const char *const kv[2] = {key, "false"};
        expect_error(edited(&mf, e_config, kv), IFC_ERR_MODEL, "malformed sampler tensors where the config has none");
    }
    if (mf.plain_layer >= 0) {
        snprintf(key, sizeof key, "layers.%d.sampler", mf.plain_layer);
        const char *const kv[2] = {key, "true"};
        expect_error(edited(&mf, e_config, kv), IFC_ERR_MODEL, "malformed sampler true without sampler tensors");
    }
    {
        static const char *const r1[2] = {"classifier.bias", "classifier.bias2"};
        static const char *const r2[2] = {"classifier.bias", "encoder.layer.0.foo.weight"};
        static const char *const r3[2] = {"classifier.bias", "encoder.layer.01.output.dense.bias"};
        static const char *const r4[2] = {"classifier.bias", "encoder.layer.99.output.dense.bias"};
        static const char *const r5[2] = {"pooler.dense.bias", "pooler.dense.weight_scale"};
        static const char *const r6[2] = {"classifier.bias", "classifier.bias_scale"};
        expect_error(edited(&mf, e_rename, r1), IFC_ERR_MODEL, "malformed unknown tensor name");
        expect_error(edited(&mf, e_rename, r2), IFC_ERR_MODEL, "malformed unknown tensor in a layer");
        expect_error(edited(&mf, e_rename, r3), IFC_ERR_MODEL, "malformed layer number with a leading zero");
        expect_error(edited(&mf, e_rename, r4), IFC_ERR_MODEL, "malformed layer number past the config");
        expect_error(edited(&mf, e_rename, r5), IFC_ERR_MODEL, "malformed _scale on an F32 tensor");
        expect_error(edited(&mf, e_rename, r6), IFC_ERR_MODEL, "malformed _scale on a 1-D tensor");
    }
    expect_error(edited(&mf, e_duplicate, NULL), IFC_OK, "malformed duplicate tensor name");
    {
        static const char *const k1[2] = {"format", "pytorch"};
        static const char *const k2[2] = {"format", NULL};
        static const char *const k3[2] = {"config", NULL};
        static const char *const k4[2] = {"config", "{not json"};
        static const char *const k5[2] = {"vocab", NULL};
        expect_error(edited(&mf, e_meta, k1), IFC_ERR_MODEL, "malformed format 'pytorch'");
        expect_error(edited(&mf, e_meta, k2), IFC_ERR_MODEL, "malformed no format key");
        expect_error(edited(&mf, e_meta, k3), IFC_ERR_MODEL, "malformed no config");
        expect_error(edited(&mf, e_meta, k4), IFC_ERR_MODEL, "malformed config not JSON");
        expect_error(edited(&mf, e_meta, k5), IFC_ERR_MODEL, "malformed no vocab");
        expect_vocab_count_error(edited(&mf, e_vocab_extra_line, NULL), "malformed vocab longer than vocab_size");
        expect_vocab_count_error(edited(&mf, e_vocab_drop_last_line, NULL), "malformed vocab shorter than vocab_size");
        /* Valid, if odd, vocabularies: a repeated token maps to its last line (as BERT's load_vocab
         * and the JS tokenizer's Map), an empty line and a UTF-8 token are tokens like any other. */
        static const char *const dup[2] = {"11", "the"}, *const empty[2] = {"12", ""}, *const utf8[2] = {"119", "na\xc3\xafve"};
        blob b1 = edited(&mf, e_vocab_token, dup), b2 = edited(&mf, e_vocab_token, empty), b3 = edited(&mf, e_vocab_token, utf8);
        ifc_model *m1 = NULL, *m2 = NULL, *m3 = NULL;
        const int loaded = ifc_model_load(b1.buf, b1.len, &m1) == IFC_OK && ifc_model_load(b2.buf, b2.len, &m2) == IFC_OK &&
                           ifc_model_load(b3.buf, b3.len, &m3) == IFC_OK;
        test_result(loaded && ifc_token_id(m1, "the", 3) == 11 && ifc_token_id(m1, "of", 2) == -1 &&
                        ifc_token_id(m2, "", 0) == 12 && ifc_token_id(m2, "the", 3) == 10 &&
                        ifc_token_id(m3, "na\xc3\xafve", 6) == 119 && ifc_token_id(m3, "around", 6) == -1,
                    "vocab index: repeated token -> last line, empty line, UTF-8 token", "%s", loaded ? "" : ifc_last_error());
        ifc_model_free(m1);
        ifc_model_free(m2);
        ifc_model_free(m3);
        free(b1.buf);
        free(b2.buf);
        free(b3.buf);
        expect_error(edited(&mf, e_delete, "__metadata__"), IFC_ERR_MODEL, "malformed no __metadata__");
    }
    {
        static const char *const cases[][3] = {
            {"format_version", "2", "malformed format_version 2"},
            {"format_version", NULL, "malformed format_version missing"},
            {"format_version", "\"1\"", "malformed format_version a string"},
            {"hidden_size", "1000000000", "malformed absurd hidden_size 1e9"},
            {"hidden_size", "1e300", "malformed absurd hidden_size 1e300"},
            {"hidden_size", "-8", "malformed negative hidden_size"},
            {"max_position", "1000000000", "malformed absurd max_position 1e9"},
            {"vocab_size", "1000000000000", "malformed absurd vocab_size 1e12"},
            {"vocab_size", "16777216", "malformed vocab_size at its limit (2^24) over a vocab of 120 lines"},
            {"type_vocab_size", "0", "malformed type_vocab_size 0"},
            {"head_size", "100000", "malformed absurd head_size"},
            {"layers.0.heads", "1000000", "malformed absurd heads 1e6"},
            {"layers.0.ffn", "1000000000", "malformed absurd ffn 1e9"},
            {"layers.0.heads", "2.5", "malformed fractional heads"},
            {"layers.0.sampler", "1", "malformed sampler not a boolean"},
            {"layers", "{}", "malformed layers not an array"},
            {"labels", "[]", "malformed no labels"},
            {"labels", "[\"a\", \"b\", \"c\", \"d\", \"e\", \"f\", \"g\"]", "malformed labels inconsistent with classifier"},
            {"layer_norm_eps", "\"small\"", "malformed layer_norm_eps not a number"},
            {"layer_norm_eps", "0", "malformed layer_norm_eps 0 (LayerNorm of a constant row is 0/0)"},
            {"layer_norm_eps", "-1e-12", "malformed layer_norm_eps negative"},
            {"layer_norm_eps", "1e-50", "malformed layer_norm_eps 1e-50 (0 as a float32)"},
            {"layer_norm_eps", "7.006492321624085e-46", "malformed layer_norm_eps 2^-150 (0 as a float32: tie to even)"},
            {"keep_threshold", NULL, "malformed keep_threshold missing"},
            {"hidden_size", "33", "malformed hidden_size inconsistent with tensors"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
            expect_error(edited(&mf, e_config, cases[i]), IFC_ERR_MODEL, cases[i][2]);
        expect_error(edited(&mf, e_config_many_layers, NULL), IFC_ERR_MODEL, "malformed absurd layer count 5000");
        /* the smallest float32 > 0, and a double just above 2^-150 that rounds up to it */
        static const char *const eps_ok[2][3] = {{"layer_norm_eps", "1.4e-45", NULL}, {"layer_norm_eps", "7.1e-46", NULL}};
        for (int k = 0; k < 2; k++) {
            blob b = edited(&mf, e_config, eps_ok[k]);
            ifc_model *m = NULL;
            ifc_status st = ifc_model_load(b.buf, b.len, &m);
            char label[96];
            snprintf(label, sizeof label, "malformed layer_norm_eps %s (> 0 as a float32) loads", eps_ok[k][1]);
            test_result(st == IFC_OK, label, "status %d: %s", st, ifc_last_error());
            ifc_model_free(m);
            free(b.buf);
        }
    }
    mutation_tests(&mf, "sampled.f32", 3000);

    if (load_parts(dir, "sampled", "i8", &mi)) {
        expect_error(edited(&mi, e_delete, "pooler.dense.weight_scale"), IFC_ERR_MODEL, "malformed I8 tensor without _scale");
        char iname[128];
        snprintf(iname, sizeof iname, "encoder.layer.%d.intermediate.dense.weight", mi.ffn_layer);
        expect_error(edited(&mi, e_delete, iname), IFC_ERR_MODEL,
                     "malformed _scale without its I8 tensor");
        expect_error(edited(&mi, e_dtype, "F16"), IFC_OK, "malformed I8 weight relabelled F16");
        expect_error(edited(&mi, e_transpose, NULL), IFC_ERR_MODEL,
                     "malformed I8 weight transposed");
        truncation_tests(&mi, "sampled.i8");
        mutation_tests(&mi, "sampled.i8", 1000);
        free(mi.file);
    } else {
        test_result(0, "malformed: read sampled.i8 fixture", "missing or unreadable");
    }

    /* i4: the embedding tables are U8, 4-bit codes two a byte ([V, d / 2] for d = 24, V = 120) */
    if (load_parts(dir, "sampled", "i4", &mi)) {
        expect_error(edited(&mi, e_dtype, "U8"), IFC_ERR_MODEL, "malformed U8 (packed 4-bit) linear weight");
        expect_error(edited(&mi, e_delete, "embeddings.word_embeddings.weight_scale"), IFC_ERR_MODEL,
                     "malformed U8 table without _scale");
        expect_error(edited(&mi, e_word_table, "[\"U8\", [60, 24]]"), IFC_ERR_MODEL,
                     "malformed U8 table with its unpacked column count");
        expect_error(edited(&mi, e_word_table, "[\"I8\", [120, 12]]"), IFC_ERR_MODEL,
                     "malformed U8 table relabelled I8 (half the columns)");
        { /* the same edit that writes the table's own dtype and shape: the edits above are the refusals */
            blob b = edited(&mi, e_word_table, "[\"U8\", [120, 12]]");
            ifc_model *m = NULL;
            ifc_status st = ifc_model_load(b.buf, b.len, &m);
            test_result(st == IFC_OK, "malformed U8 table rewritten as it was loads", "status %d: %s", st, ifc_last_error());
            ifc_model_free(m);
            free(b.buf);
        }
        truncation_tests(&mi, "sampled.i4");
        mutation_tests(&mi, "sampled.i4", 1000);
        free(mi.file);
    } else {
        test_result(0, "malformed: read sampled.i4 fixture", "missing or unreadable");
    }
    free(mf.file);
}
