/* safetensors container parse (docs/model-format.md, "Container").
 *
 *   bytes 0..8       u64 little-endian N = header length
 *   bytes 8..8+N     JSON object, maybe padded with trailing spaces
 *   bytes 8+N..len   data area
 *
 * Every check the spec lists is done here, in this order: N against the limits and the file,
 * JSON object, per tensor dtype / shape / offsets / alignment, then no overlaps. Nothing reads
 * the caller's buffer outside [0, len). The tensors' bytes are not copied here: st_tensor.data
 * points into the caller's buffer and weights.c copies what it keeps. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../third_party/cjson/cJSON.h"
#include "checked.h"
#include "ifc_internal.h"

size_t ifc_dtype_size(ifc_dtype dt) {
    switch (dt) {
    case IFC_DT_F32: return 4;
    case IFC_DT_F16: return 2;
    case IFC_DT_I8: return 1;
    case IFC_DT_U8: return 1;
    }
    return 0;
}

const char *ifc_dtype_name(ifc_dtype dt) {
    switch (dt) {
    case IFC_DT_F32: return "F32";
    case IFC_DT_F16: return "F16";
    case IFC_DT_I8: return "I8";
    case IFC_DT_U8: return "U8";
    }
    return "?";
}

static int parse_dtype(const char *s, ifc_dtype *out) {
    if (strcmp(s, "F32") == 0) { *out = IFC_DT_F32; return 1; }
    if (strcmp(s, "F16") == 0) { *out = IFC_DT_F16; return 1; }
    if (strcmp(s, "I8") == 0) { *out = IFC_DT_I8; return 1; }
    if (strcmp(s, "U8") == 0) { *out = IFC_DT_U8; return 1; }
    return 0;
}

/* A JSON number that is an exact non-negative integer below 2^53 (doubles are exact there). */
static int json_uint(const cJSON *item, uint64_t *out) {
    if (!cJSON_IsNumber(item)) return 0;
    double v = item->valuedouble;
    if (!(v >= 0.0) || v > 9007199254740992.0 || floor(v) != v) return 0;
    *out = (uint64_t)v;
    return 1;
}

static ifc_status parse_tensor(const cJSON *item, uint64_t data_size, st_tensor *t) {
    const char *name = item->string;
    if (!cJSON_IsObject(item))
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': header entry is not a JSON object", name);

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!cJSON_IsString(dtype))
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': missing string \"dtype\"", name);
    if (!parse_dtype(dtype->valuestring, &t->dtype))
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': dtype '%.32s' is not one of F32, F16, I8, U8", name,
                        dtype->valuestring);

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    if (!cJSON_IsArray(shape))
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': missing array \"shape\"", name);
    int rank = cJSON_GetArraySize(shape);
    if (rank > IFC_ST_MAX_RANK)
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': rank %d exceeds %d", name, rank, IFC_ST_MAX_RANK);
    t->rank = rank;
    /* elements * dtype size, checked for overflow; any product past the data area is an error
     * anyway, so stop as soon as it gets there. */
    uint64_t bytes = ifc_dtype_size(t->dtype);
    int i = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape) {
        uint64_t v;
        if (!json_uint(dim, &v))
            return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': shape entry %d is not an integer >= 0", name, i);
        t->shape[i++] = v;
        if (!ck_mul_u64(bytes, v, &bytes)) bytes = UINT64_MAX;
    }

    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': \"data_offsets\" is not a [BEGIN, END] pair", name);
    if (!json_uint(cJSON_GetArrayItem(offs, 0), &t->begin) || !json_uint(cJSON_GetArrayItem(offs, 1), &t->end))
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': data_offsets are not integers >= 0", name);
    if (t->begin > t->end)
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': data_offsets [%llu, %llu] are reversed", name,
                        (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_size)
        return ifc_fail(IFC_ERR_FORMAT,
                        "tensor '%s': data_offsets end %llu is past the data area (%llu bytes)", name,
                        (unsigned long long)t->end, (unsigned long long)data_size);
    if (t->end - t->begin != bytes)
        return ifc_fail(IFC_ERR_FORMAT,
                        "tensor '%s': data_offsets span %llu bytes but shape x dtype needs %s%llu", name,
                        (unsigned long long)(t->end - t->begin), bytes == UINT64_MAX ? "more than " : "",
                        (unsigned long long)(bytes == UINT64_MAX ? data_size : bytes));
    if (t->begin % ifc_dtype_size(t->dtype) != 0)
        return ifc_fail(IFC_ERR_FORMAT, "tensor '%s': %s data at offset %llu is not %zu-byte aligned", name,
                        ifc_dtype_name(t->dtype), (unsigned long long)t->begin, ifc_dtype_size(t->dtype));
    return IFC_OK;
}

typedef struct {
    uint64_t begin, end;
    int index;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Tensors must not share bytes: sorted by (BEGIN, END), each starts at or after the previous END
 * (the reference reader's rule, train/safetensors_io.py, zero-size tensors included). */
static ifc_status check_overlaps(const st_tensor *ts, int count) {
    if (count < 2) return IFC_OK;
    span *order = malloc((size_t)count * sizeof *order);
    if (!order) return ifc_fail(IFC_ERR_NOMEM, "out of memory sorting %d tensors", count);
    int m = 0;
    for (int i = 0; i < count; i++) order[m++] = (span){ts[i].begin, ts[i].end, i};
    qsort(order, (size_t)m, sizeof *order, cmp_span);
    ifc_status st = IFC_OK;
    for (int i = 1; i < m; i++) {
        const st_tensor *prev = &ts[order[i - 1].index], *cur = &ts[order[i].index];
        if (cur->begin < prev->end) {
            st = ifc_fail(IFC_ERR_FORMAT, "tensors '%s' [%llu, %llu) and '%s' [%llu, %llu) overlap", prev->name,
                          (unsigned long long)prev->begin, (unsigned long long)prev->end, cur->name,
                          (unsigned long long)cur->begin, (unsigned long long)cur->end);
            break;
        }
    }
    free(order);
    return st;
}

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as the reference
 * reader's bytes.decode("utf-8"); cJSON itself does not check the encoding. Out of line
 * (IFC_NOINLINE): a loop over the whole header inlined into st_parse made V8 recompile st_parse. */
static IFC_NOINLINE int valid_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* ASCII, most of a header, 8 bytes at a time in a short inner loop (fewer iterations
         * before V8 tiers the function up) */
        uint64_t w;
        while (n - i >= 8 && (memcpy(&w, s + i, 8), (w & 0x8080808080808080ull) == 0)) i += 8;
        if (i == n) break;
        const uint8_t c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

static ifc_status parse_metadata(const cJSON *meta, st_file *f) {
    if (!cJSON_IsObject(meta))
        return ifc_fail(IFC_ERR_FORMAT, "__metadata__ is not a JSON object");
    const cJSON *kv;
    cJSON_ArrayForEach(kv, meta) {
        if (!cJSON_IsString(kv))
            return ifc_fail(IFC_ERR_FORMAT, "__metadata__ value '%s' is not a string", kv->string);
        if (strcmp(kv->string, "format") == 0) f->meta_format = kv->valuestring;
        else if (strcmp(kv->string, "config") == 0) f->meta_config = kv->valuestring;
        else if (strcmp(kv->string, "vocab") == 0) f->meta_vocab = kv->valuestring;
    }
    return IFC_OK;
}

void st_free(st_file *f) {
    if (!f) return;
    cJSON_Delete((cJSON *)f->root);
    free(f->tensors);
    memset(f, 0, sizeof *f);
}

ifc_status st_parse(const uint8_t *buf, size_t len, st_file *f) {
    memset(f, 0, sizeof *f);
    if (len < 8)
        return ifc_fail(IFC_ERR_FORMAT, "file is %zu bytes, too short for the 8-byte header length", len);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | buf[i];
    if (n <= 1 || n > IFC_ST_MAX_HEADER)
        return ifc_fail(IFC_ERR_FORMAT, "header length %llu is outside [2, %u]: not a safetensors file",
                        (unsigned long long)n, IFC_ST_MAX_HEADER);
    if (n > len - 8)
        return ifc_fail(IFC_ERR_FORMAT, "header length %llu runs past the end of the %zu-byte file",
                        (unsigned long long)n, len);
    const size_t hlen = (size_t)n;
    const uint64_t data_size = (uint64_t)(len - 8 - hlen);
    const uint8_t *data = buf + 8 + hlen;

    if (!valid_utf8(buf + 8, hlen)) return ifc_fail(IFC_ERR_FORMAT, "header is not valid UTF-8");
    /* cJSON is given a NUL-terminated private copy, so no parser path can read past the header. */
    char *text = malloc(hlen + 1);
    if (!text) return ifc_fail(IFC_ERR_NOMEM, "out of memory copying a %zu-byte header", hlen);
    memcpy(text, buf + 8, hlen);
    text[hlen] = '\0';
    size_t body = hlen; /* strip the padding: trailing spaces (and other JSON whitespace) */
    while (body > 0 && (text[body - 1] == ' ' || text[body - 1] == '\n' || text[body - 1] == '\r' ||
                        text[body - 1] == '\t'))
        body--;
    if (memchr(text, '\0', body) != NULL) {
        free(text);
        return ifc_fail(IFC_ERR_FORMAT, "header contains a NUL byte: not a JSON text");
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, body, &end, 0);
    size_t consumed = end ? (size_t)(end - text) : 0;
    free(text);
    if (!root)
        return ifc_fail(IFC_ERR_FORMAT, "header is not valid JSON (error near byte %zu of %zu)", consumed, hlen);
    f->root = root;
    if (consumed != body) {
        st_free(f);
        return ifc_fail(IFC_ERR_FORMAT, "header has bytes after the JSON object (at byte %zu of %zu)", consumed, hlen);
    }
    if (!cJSON_IsObject(root)) {
        st_free(f);
        return ifc_fail(IFC_ERR_FORMAT, "header is JSON but not an object");
    }

    int count = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") != 0) count++;
    }
    if (count > 0) {
        f->tensors = calloc((size_t)count, sizeof *f->tensors);
        if (!f->tensors) {
            st_free(f);
            return ifc_fail(IFC_ERR_NOMEM, "out of memory for %d tensor entries", count);
        }
    }
    int metadata_seen = 0;
    ifc_status st = IFC_OK;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            if (metadata_seen++) { st = ifc_fail(IFC_ERR_FORMAT, "__metadata__ appears twice"); break; }
            if ((st = parse_metadata(item, f)) != IFC_OK) break;
            continue;
        }
        st_tensor *t = &f->tensors[f->count];
        t->name = item->string;
        if ((st = parse_tensor(item, data_size, t)) != IFC_OK) break;
        t->data = data + t->begin;
        f->count++;
    }
    if (st == IFC_OK) st = check_overlaps(f->tensors, f->count);
    if (st != IFC_OK) st_free(f);
    return st;
}
