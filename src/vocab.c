/* Token -> id index of a model's vocabulary (__metadata__.vocab: the tokens, one a line), built at
 * load, so that the JS tokenizer looks its WordPieces up here (ifc_token_id) instead of building a
 * 20,000-entry Map on every cold start (docs/benchmarks.md, cold start).
 * Open addressing with linear probing over FNV-1a hashes of the UTF-8 bytes; a token that occurs on
 * two lines maps to the last, as in BERT's load_vocab and the JS tokenizer's Map. */
#include <stdlib.h>
#include <string.h>

#include "ifc_internal.h"

static uint32_t fnv1a(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* The slot of token s[0..len) in v, or of the empty slot where it would go. */
static uint32_t probe(const ifc_vocab *v, const char *s, size_t len) {
    uint32_t i = fnv1a(s, len) & (v->cap - 1);
    for (;;) {
        const int32_t id = v->slots[i] - 1;
        if (id < 0) return i;
        if (v->start[id + 1] - 1 - v->start[id] == len && memcmp(v->text + v->start[id], s, len) == 0) return i;
        i = (i + 1) & (v->cap - 1);
    }
}

static ifc_status wrong_count(size_t found, int count) {
    return ifc_fail(IFC_ERR_MODEL, "vocab has %zu lines but config vocab_size is %d", found, count);
}

/* lines: the tokens joined by '\n'; count: the config's vocab_size, which they must match. */
ifc_status vocab_build(const char *lines, int count, ifc_vocab *v) {
    memset(v, 0, sizeof *v);
    const size_t len = strlen(lines);
    if ((size_t)count > len + 1) { /* V tokens need V - 1 separators: refused before allocating by V */
        size_t found = 1;
        for (const char *p = lines; (p = strchr(p, '\n')) != NULL; p++) found++;
        return wrong_count(found, count);
    }
    v->cap = 2;
    while (v->cap < 2u * (uint32_t)count) v->cap <<= 1; /* count <= IFC_MAX_VOCAB: no overflow */
    v->text = malloc(len + 1);
    v->start = malloc(((size_t)count + 1) * sizeof *v->start);
    v->slots = calloc(v->cap, sizeof *v->slots);
    if (!v->text || !v->start || !v->slots) {
        vocab_free(v);
        return ifc_fail(IFC_ERR_NOMEM, "out of memory for the vocabulary index");
    }
    memcpy(v->text, lines, len + 1);
    /* One pass splits and counts: V tokens have V - 1 separators. */
    size_t found = 0;
    for (const char *p = v->text;; found++) {
        if (found < (size_t)count) v->start[found] = (uint32_t)(p - v->text);
        const char *end = strchr(p, '\n'); /* libc scans by words */
        if (!end) break;
        p = end + 1;
    }
    if (++found != (size_t)count) {
        vocab_free(v);
        return wrong_count(found, count);
    }
    v->start[count] = (uint32_t)len + 1; /* one past the last token's end, as each start is one past the '\n' before */
    for (int id = 0; id < count; id++) {
        const uint32_t n = v->start[id + 1] - 1 - v->start[id];
        v->slots[probe(v, v->text + v->start[id], n)] = id + 1;
    }
    return IFC_OK;
}

int32_t vocab_find(const ifc_vocab *v, const char *s, size_t len) {
    if (!v->slots) return -1;
    return v->slots[probe(v, s, len)] - 1;
}

void vocab_free(ifc_vocab *v) {
    free(v->text);
    free(v->start);
    free(v->slots);
    memset(v, 0, sizeof *v);
}
