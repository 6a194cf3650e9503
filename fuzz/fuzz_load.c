/* libFuzzer target: any byte string as a model file -> ifc_model_load, and when it loads, two
 * forward passes with ids, types, length and threshold derived from the input.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... (scripts/fuzz.sh builds and runs it)
 *
 * Checked beyond "no crash, no sanitizer report": a refusal leaves *out NULL and a message; a
 * loaded model classifies a valid input with IFC_OK, at a random length and at max_position (the
 * size the activation arena was planned for); kept counts never grow layer to layer; FLOPs never
 * exceed the dense FLOPs; a token looked up is absent (-1) or an id that classify accepts. Logits
 * are not checked: mutated weights may be NaN (docs/reliability.md).
 * Seeds: tests/fixtures/*.safetensors and tests/fixtures/bad/*. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../src/ifc_internal.h"

#define REQUIRE(cond, what)                                                     \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "fuzz_load: %s (%s)\n", what, ifc_last_error());    \
            abort();                                                            \
        }                                                                       \
    } while (0)

/* FNV-1a of the input: the seed of everything the forward pass draws. */
static uint64_t hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint32_t next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 32);
}

static void classify_checked(ifc_model *m, uint64_t *s, int n, int32_t *ids, int32_t *types, float *logits) {
    const ifc_config *c = &m->cfg;
    for (int j = 0; j < n; j++) {
        ids[j] = (int32_t)(next(s) % (uint32_t)c->vocab);
        types[j] = (int32_t)(next(s) % (uint32_t)c->type_vocab);
    }
    static const float thresholds[6] = {0.0f, -INFINITY, INFINITY, NAN, 1e30f, -0.5f};
    const uint32_t t = next(s) % 7;
    ifc_set_threshold(m, t == 6 ? c->keep_threshold : thresholds[t]);
    REQUIRE(ifc_classify(m, ids, types, n, logits) == IFC_OK, "classify of a valid input failed");
    int prev = n;
    for (int i = 0; i < c->num_layers; i++) {
        const int kept = ifc_stat_kept(m, i);
        REQUIRE(kept >= 1 && kept <= prev, "kept rows outside [1, previous]");
        prev = kept;
    }
    REQUIRE(ifc_stat_flops(m) <= ifc_dense_flops(m, n), "FLOPs above the dense FLOPs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ifc_model *m = (ifc_model *)(uintptr_t)1;
    ifc_status st = ifc_model_load(data, size, &m);
    if (st != IFC_OK) {
        REQUIRE(m == NULL, "a refused load left *out set");
        REQUIRE(ifc_last_error()[0] != '\0', "a refused load left no message");
        REQUIRE(st == IFC_ERR_FORMAT || st == IFC_ERR_MODEL || st == IFC_ERR_NOMEM, "unexpected status");
        return 0;
    }
    const int P = ifc_max_length(m), L = ifc_num_labels(m);
    int32_t *ids = malloc((size_t)P * sizeof *ids), *types = malloc((size_t)P * sizeof *types);
    float *logits = malloc((size_t)L * sizeof *logits);
    if (ids && types && logits) {
        uint64_t s = hash_bytes(data, size) | 1;
        classify_checked(m, &s, 1 + (int)(next(&s) % (uint32_t)P), ids, types, logits);
        classify_checked(m, &s, P, ids, types, logits);
    }
    /* The vocabulary index: a slice of the input looked up gives -1 or an id that classify accepts. */
    const size_t at = size / 3;
    int32_t id = ifc_token_id(m, (const char *)data + at, (int32_t)(size - at < 64 ? size - at : 64)), type = 0;
    REQUIRE(id >= -1, "token id below -1");
    if (id >= 0 && logits) REQUIRE(ifc_classify(m, &id, &type, 1, logits) == IFC_OK, "a looked-up id was refused");
    free(ids);
    free(types);
    free(logits);
    ifc_model_free(m);
    return 0;
}
