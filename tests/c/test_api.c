/* API behaviour on a real fixture model: argument checks (length, ids, types, NULLs), statistics
 * kept across failed calls, repeatability (the arena holds no state between calls). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static int same_floats(const float *a, const float *b, int n) { return memcmp(a, b, sizeof(float) * (size_t)n) == 0; }

void run_api_tests(const char *dir) {
    ifc_model *m = (ifc_model *)1;
    ifc_status st = ifc_model_load(NULL, 10, &m);
    test_result(st == IFC_ERR_ARG && m == NULL, "api load NULL buffer -> IFC_ERR_ARG", "%s", ifc_last_error());
    uint8_t byte = 0;
    st = ifc_model_load(&byte, 1, NULL);
    test_result(st == IFC_ERR_ARG, "api load NULL out -> IFC_ERR_ARG", "%s", ifc_last_error());

    size_t len;
    uint8_t *buf = read_fixture_model(dir, "sampled", "f32", &len);
    m = NULL;
    st = buf ? ifc_model_load(buf, len, &m) : IFC_ERR_ARG;
    free(buf);
    test_result(st == IFC_OK, "api load sampled.f32", "%s", st == IFC_OK ? "" : ifc_last_error());
    if (st != IFC_OK) return;

    const int P = ifc_max_length(m), L = ifc_num_labels(m), layers = ifc_num_layers(m);
    test_result(P > 0 && L > 0 && layers > 0 && ifc_hidden_size(m) > 0, "api shape getters", "max_length %d, labels %d, layers %d, hidden %d",
                P, L, layers, ifc_hidden_size(m));

    int32_t *ids = calloc((size_t)P + 2, sizeof *ids), *types = calloc((size_t)P + 2, sizeof *types);
    float *logits = calloc((size_t)L, sizeof *logits), *first = calloc((size_t)L, sizeof *first),
          *again = calloc((size_t)L, sizeof *again);
    for (int j = 0; j < P + 2; j++) ids[j] = j == 0 ? 2 : 5 + (j * 7) % 50; /* ids < 55 exist in every fixture vocab */

    st = ifc_classify(m, ids, types, 8, first);
    uint64_t flops = ifc_stat_flops(m);
    int kept0 = ifc_stat_kept(m, 0);
    test_result(st == IFC_OK && flops > 0, "api classify 8 tokens", "%s", st == IFC_OK ? "" : ifc_last_error());

    st = ifc_classify(m, ids, types, P + 1, logits);
    test_result(st == IFC_ERR_ARG && strstr(ifc_last_error(), "length"), "api length max+1 refused with IFC_ERR_ARG", "%s",
                ifc_last_error());
    st = ifc_classify(m, ids, types, 0, logits);
    test_result(st == IFC_ERR_ARG, "api length 0 refused", "%s", ifc_last_error());
    st = ifc_classify(m, ids, types, -5, logits);
    test_result(st == IFC_ERR_ARG, "api negative length refused", "%s", ifc_last_error());
    test_result(ifc_stat_flops(m) == flops && ifc_stat_kept(m, 0) == kept0, "api stats survive failed calls", NULL);

    int32_t saved = ids[3];
    ids[3] = 0x7fffffff;
    st = ifc_classify(m, ids, types, 8, logits);
    test_result(st == IFC_ERR_ARG && strstr(ifc_last_error(), "vocabulary"), "api token id past vocab refused", "%s",
                ifc_last_error());
    ids[3] = -1;
    st = ifc_classify(m, ids, types, 8, logits);
    test_result(st == IFC_ERR_ARG, "api negative token id refused", "%s", ifc_last_error());
    ids[3] = saved;
    types[2] = 1000000;
    st = ifc_classify(m, ids, types, 8, logits);
    test_result(st == IFC_ERR_ARG, "api token type past type_vocab refused", "%s", ifc_last_error());
    types[2] = -1;
    st = ifc_classify(m, ids, types, 8, logits);
    test_result(st == IFC_ERR_ARG, "api negative token type refused", "%s", ifc_last_error());
    types[2] = 0;
    st = ifc_classify(m, ids, types, 8, NULL);
    test_result(st == IFC_ERR_ARG, "api NULL logits refused", "%s", ifc_last_error());
    st = ifc_classify(m, NULL, types, 8, logits);
    test_result(st == IFC_ERR_ARG, "api NULL ids refused", "%s", ifc_last_error());
    st = ifc_classify(NULL, ids, types, 8, logits);
    test_result(st == IFC_ERR_ARG, "api NULL model refused", "%s", ifc_last_error());

    st = ifc_classify(m, ids, types, P, logits);
    test_result(st == IFC_OK && ifc_stat_kept(m, 0) <= P, "api classify at max length", "n=%d %s", P,
                st == IFC_OK ? "" : ifc_last_error());
    st = ifc_classify(m, ids, types, 8, again);
    test_result(st == IFC_OK && same_floats(first, again, L) && ifc_stat_flops(m) == flops,
                "api repeatable after a longer input (no state in the arena)", NULL);

    ifc_set_threshold(m, 0.25f);
    test_result(ifc_get_threshold(m) == 0.25f, "api threshold set/get", NULL);
    ifc_set_threshold(m, -INFINITY);
    st = ifc_classify(m, ids, types, 8, logits);
    int all = 1;
    for (int i = 0; i < layers; i++) all &= ifc_stat_kept(m, i) == 8;
    test_result(st == IFC_OK && all && ifc_stat_flops(m) == ifc_dense_flops(m, 8), "api threshold -inf keeps every token", NULL);
    ifc_set_threshold(m, INFINITY);
    st = ifc_classify(m, ids, types, 8, logits);
    int first_sampler_layer_kept_one = 0;
    for (int i = 0; i < layers; i++)
        if (ifc_stat_kept(m, i) == 1) first_sampler_layer_kept_one = 1;
    test_result(st == IFC_OK && first_sampler_layer_kept_one && ifc_stat_flops(m) < ifc_dense_flops(m, 8),
                "api threshold +inf drops every token but [CLS]", "flops %llu", (unsigned long long)ifc_stat_flops(m));
    test_result(ifc_stat_kept(m, -1) == -1 && ifc_stat_kept(m, layers) == -1, "api stat_kept out of range -> -1", NULL);

    /* kept positions: ascending original indices, [CLS] first, each layer's a subset of the one before */
    ifc_set_threshold(m, 0.0f);
    st = ifc_classify(m, ids, types, P, logits);
    int positions_ok = st == IFC_OK;
    const int32_t *prev = NULL;
    int prev_n = P;
    for (int i = 0; positions_ok && i < layers; i++) {
        const int32_t *pos = ifc_stat_kept_positions(m, i);
        const int n = ifc_stat_kept(m, i);
        positions_ok &= pos != NULL && n >= 1 && n <= prev_n && pos[0] == 0;
        for (int j = 1; positions_ok && j < n; j++) positions_ok &= pos[j] > pos[j - 1] && pos[j] < P;
        for (int j = 0, k = 0; positions_ok && prev && j < n; j++) { /* subset of the previous layer's rows */
            while (k < prev_n && prev[k] < pos[j]) k++;
            positions_ok &= k < prev_n && prev[k] == pos[j];
        }
        if (positions_ok) { prev = pos; prev_n = n; }
    }
    test_result(positions_ok && ifc_stat_kept_positions(m, -1) == NULL && ifc_stat_kept_positions(m, layers) == NULL,
                "api kept positions ascending, nested, [CLS] first", NULL);
    test_result(ifc_stat_ms(m) >= 0.0, "api stat_ms", "%.3f ms", ifc_stat_ms(m));
    test_result(ifc_dense_flops(m, 0) == 0 && ifc_dense_flops(NULL, 8) == 0, "api dense_flops bad args -> 0", NULL);

    /* ifc_token_id on the fixture's vocabulary: [PAD] [UNK] [CLS] [SEP] [MASK] . , ! ? ' the of ...
     * ##s ... around (the last line, without a '\n' after it). */
    static const struct { const char *token; int32_t id; } known[] = {
        {"[PAD]", 0}, {"[CLS]", 2}, {"the", 10}, {"of", 11}, {"around", 119},
        {"th", -1}, {"thee", -1}, {"", -1}, {"s", -1}, {"the\nof", -1}, {"[pad]", -1}};
    int ids_ok = 1;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const int32_t got = ifc_token_id(m, known[i].token, (int32_t)strlen(known[i].token));
        if (got != known[i].id) printf("  %s -> %d, want %d\n", known[i].token, (int)got, (int)known[i].id);
        ids_ok &= got == known[i].id;
    }
    const int32_t s_id = ifc_token_id(m, "##s", 3);
    test_result(ids_ok && s_id > 11 && ifc_token_id(m, "the", 2) == -1 && ifc_token_id(m, "of!", 2) == 11,
                "api token_id: tokens, ## pieces, lengths, misses", "##s -> %d", (int)s_id);
    test_result(ifc_token_id(NULL, "the", 3) == -1 && ifc_token_id(m, NULL, 3) == -1 && ifc_token_id(m, "the", -1) == -1,
                "api token_id bad args -> -1", NULL);

    free(ids);
    free(types);
    free(logits);
    free(first);
    free(again);
    ifc_model_free(m);
    ifc_model_free(NULL);
}
