/* Public API: load / free / classify / getters, and the activation arena.
 *
 * Load order: container (safetensors.c) -> metadata "format" and "config" (config.c) -> vocab
 * line count -> tensors bound and repacked (weights.c) -> arena planned for max_position rows, within
 * a budget tied to the file's size (IFC_WORK_BASE_BYTES).
 * Every failure frees what was built and leaves a message in ifc_last_error(). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "ifc_internal.h"

#define ARENA_ALIGN 64

/* Reserve `count` elements of `elem` bytes at the end of the plan; returns the byte offset. */
static int plan_take(size_t *cursor, size_t count, size_t elem, size_t *offset) {
    size_t bytes;
    if (!ck_mul_size(count, elem, &bytes)) return 0;
    *offset = *cursor;
    if (!ck_add_size(*cursor, round_up_size(bytes, ARENA_ALIGN), cursor)) return 0;
    return *cursor <= IFC_MAX_ARENA_BYTES;
}

/* The most working memory a file of `file_bytes` bytes may plan (see IFC_WORK_BASE_BYTES). */
static size_t work_budget(size_t file_bytes) {
    const size_t room = (IFC_MAX_ARENA_BYTES - IFC_WORK_BASE_BYTES) / IFC_WORK_PER_FILE_BYTE;
    return file_bytes >= room ? IFC_MAX_ARENA_BYTES : IFC_WORK_BASE_BYTES + IFC_WORK_PER_FILE_BYTE * file_bytes;
}

ifc_status arena_plan(ifc_model *m, size_t file_bytes) {
    const ifc_config *c = &m->cfg;
    const size_t P = (size_t)c->max_position, d = (size_t)c->hidden, hs = (size_t)c->head_size;
    size_t amax = 0, fmax = 0, kmax = 0;
    int any_heads = 0;
    const ifc_linear *global[2] = {&m->pooler, &m->classifier};
    for (int i = 0; i < 2; i++) kmax = kmax > linear_scratch_k(global[i]) ? kmax : linear_scratch_k(global[i]);
    for (int i = 0; i < c->num_layers; i++) {
        const ifc_layer *L = &m->layers[i];
        amax = amax > (size_t)L->attn ? amax : (size_t)L->attn;
        fmax = fmax > (size_t)L->ffn ? fmax : (size_t)L->ffn;
        any_heads |= L->heads > 0;
        const ifc_linear *ls[6] = {&L->s_dense1, &L->s_dense2, &L->qkv, &L->attn_out, &L->ffn_in, &L->ffn_out};
        for (int j = 0; j < 6; j++) kmax = kmax > linear_scratch_k(ls[j]) ? kmax : linear_scratch_k(ls[j]);
    }
    const size_t uw = d > fmax ? d : fmax;
    const size_t kv = any_heads ? (packed_f32_floats((int)P, (int)hs) > packed_f32_floats((int)hs, (int)P)
                                       ? packed_f32_floats((int)P, (int)hs)
                                       : packed_f32_floats((int)hs, (int)P))
                                : 0;
    size_t cur = 0, o_h, o_t, o_u, o_s, o_qkv, o_ctx, o_sc, o_kv, o_xq, o_xs, o_pool;
    if (!plan_take(&cur, P * d, sizeof(float), &o_h) || !plan_take(&cur, P * d, sizeof(float), &o_t) ||
        !plan_take(&cur, P * uw, sizeof(float), &o_u) || !plan_take(&cur, P * 2, sizeof(float), &o_s) ||
        !plan_take(&cur, P * 3 * amax, sizeof(float), &o_qkv) || !plan_take(&cur, P * amax, sizeof(float), &o_ctx) ||
        !plan_take(&cur, any_heads ? P * P : 0, sizeof(float), &o_sc) || !plan_take(&cur, kv, sizeof(float), &o_kv) ||
        !plan_take(&cur, P * kmax, sizeof(int16_t), &o_xq) || !plan_take(&cur, P, sizeof(float), &o_xs) ||
        !plan_take(&cur, 2 * d, sizeof(float), &o_pool))
        return ifc_fail(IFC_ERR_MODEL, "working memory for max_position %zu (hidden %zu, attention %zu, ffn %zu) exceeds %zu MiB",
                        P, d, amax, fmax, IFC_MAX_ARENA_BYTES >> 20);
    /* the planned products are <= 1 GiB, so the size_t sums above cannot have wrapped; the kept
     * positions (ifc_model_load) count too: P <= 4096, layers <= 1024 */
    const size_t layers = (size_t)(c->num_layers > 0 ? c->num_layers : 1);
    const size_t work = cur + (layers * P + P + layers) * sizeof(int32_t), budget = work_budget(file_bytes);
    if (work > budget)
        return ifc_fail(IFC_ERR_MODEL,
                        "working memory %.2f MiB for max_position %zu (hidden %zu, attention %zu, ffn %zu) exceeds what a "
                        "%zu-byte file may ask for: %.2f MiB (64 MiB + %d x the file size, at most %zu MiB)",
                        (double)work / (1 << 20), P, d, amax, fmax, file_bytes, (double)budget / (1 << 20), IFC_WORK_PER_FILE_BYTE,
                        IFC_MAX_ARENA_BYTES >> 20);
    ifc_arena *A = &m->arena;
    A->bytes = cur;
    A->block = malloc(cur + ARENA_ALIGN);
    if (!A->block) return ifc_fail(IFC_ERR_NOMEM, "out of memory for %zu bytes of working memory", cur);
    uint8_t *base = (uint8_t *)A->block;
    base += (ARENA_ALIGN - ((uintptr_t)base % ARENA_ALIGN)) % ARENA_ALIGN;
    A->h = (float *)(base + o_h);
    A->t = (float *)(base + o_t);
    A->u = (float *)(base + o_u);
    A->s = (float *)(base + o_s);
    A->qkv = (float *)(base + o_qkv);
    A->ctx = (float *)(base + o_ctx);
    A->scores = (float *)(base + o_sc);
    A->kvpack = (float *)(base + o_kv);
    A->xq = (int16_t *)(base + o_xq);
    A->xs = (float *)(base + o_xs);
    A->pooled = (float *)(base + o_pool);
    return IFC_OK;
}

/* Checked before the config, so that a foreign safetensors file is called what it is. */
static ifc_status check_format(const st_file *f) {
    if (!f->meta_format) return ifc_fail(IFC_ERR_MODEL, "__metadata__ has no \"format\": not an inforcoef model");
    if (strcmp(f->meta_format, "inforcoef") != 0)
        return ifc_fail(IFC_ERR_MODEL, "__metadata__ format is '%.40s', not 'inforcoef'", f->meta_format);
    return IFC_OK;
}

/* The vocabulary's presence; vocab_build checks its line count against the config as it splits. */
static ifc_status check_metadata(const st_file *f) {
    if (!f->meta_vocab) return ifc_fail(IFC_ERR_MODEL, "__metadata__ has no \"vocab\"");
    return IFC_OK;
}

void ifc_model_free(ifc_model *m) {
    if (!m) return;
    weights_free(m);
    vocab_free(&m->vocab);
    free(m->arena.block);
    free(m->kept);
    free(m->row_pos);
    free(m->kept_pos);
    config_free(&m->cfg);
    free(m);
}

ifc_status ifc_model_load(const uint8_t *buf, size_t len, ifc_model **out) {
    ifc_clear_error();
    if (!out) return ifc_fail(IFC_ERR_ARG, "ifc_model_load: out is NULL");
    *out = NULL;
    if (!buf) return ifc_fail(IFC_ERR_ARG, "ifc_model_load: buffer is NULL");
    st_file f;
    ifc_status st = st_parse(buf, len, &f);
    if (st != IFC_OK) return st;
    ifc_model *m = calloc(1, sizeof *m);
    if (!m) {
        st_free(&f);
        return ifc_fail(IFC_ERR_NOMEM, "out of memory for the model");
    }
    if ((st = check_format(&f)) == IFC_OK && (st = config_parse(f.meta_config, &m->cfg)) == IFC_OK && (st = check_metadata(&f)) == IFC_OK &&
        (st = vocab_build(f.meta_vocab, m->cfg.vocab, &m->vocab)) == IFC_OK && (st = weights_load(&f, m)) == IFC_OK && (st = arena_plan(m, len)) == IFC_OK) {
        const size_t layers = (size_t)(m->cfg.num_layers > 0 ? m->cfg.num_layers : 1), P = (size_t)m->cfg.max_position;
        m->kept = calloc(layers, sizeof *m->kept);
        m->row_pos = calloc(P, sizeof *m->row_pos);
        m->kept_pos = calloc(layers * P, sizeof *m->kept_pos); /* P <= 4096, layers <= 1024: no overflow */
        if (!m->kept || !m->row_pos || !m->kept_pos) st = ifc_fail(IFC_ERR_NOMEM, "out of memory");
    }
    st_free(&f);
    if (st != IFC_OK) {
        ifc_model_free(m);
        return st;
    }
    m->threshold = m->cfg.keep_threshold;
    *out = m;
    return IFC_OK;
}

ifc_status ifc_classify(ifc_model *m, const int32_t *ids, const int32_t *types, int n, float *logits) {
    if (!m || !ids || !types || !logits) return ifc_fail(IFC_ERR_ARG, "ifc_classify: NULL argument");
    if (n < 1 || n > m->cfg.max_position)
        return ifc_fail(IFC_ERR_ARG, "ifc_classify: length %d is outside [1, %d] (the model's max length)", n,
                        m->cfg.max_position);
    for (int j = 0; j < n; j++) {
        if (ids[j] < 0 || ids[j] >= m->cfg.vocab)
            return ifc_fail(IFC_ERR_ARG, "ifc_classify: token id %d at position %d is outside the vocabulary [0, %d)",
                            (int)ids[j], j, m->cfg.vocab);
        if (types[j] < 0 || types[j] >= m->cfg.type_vocab)
            return ifc_fail(IFC_ERR_ARG, "ifc_classify: token type %d at position %d is outside [0, %d)", (int)types[j],
                            j, m->cfg.type_vocab);
    }
    const double t0 = ifc_clock_ms();
    ifc_status st = forward_classify(m, ids, types, n, logits);
    if (st != IFC_OK) return st;
    m->flops = forward_flops_formula(m, n, m->kept);
    m->ms = ifc_clock_ms() - t0;
    m->classified = 1;
    return IFC_OK;
}

void ifc_set_threshold(ifc_model *m, float threshold) {
    /* NaN would compare false against every score and silently drop every token but [CLS]:
     * it is read as "no threshold", -INFINITY (keep every token). */
    if (m) m->threshold = isnan(threshold) ? -INFINITY : threshold;
}
float ifc_get_threshold(const ifc_model *m) { return m ? m->threshold : 0.0f; }
int ifc_num_layers(const ifc_model *m) { return m ? m->cfg.num_layers : 0; }
int ifc_num_labels(const ifc_model *m) { return m ? m->cfg.num_labels : 0; }
int ifc_max_length(const ifc_model *m) { return m ? m->cfg.max_position : 0; }
int ifc_hidden_size(const ifc_model *m) { return m ? m->cfg.hidden : 0; }

int32_t ifc_token_id(const ifc_model *m, const char *utf8, int32_t len) {
    if (!m || !utf8 || len < 0) return -1;
    return vocab_find(&m->vocab, utf8, (size_t)len);
}

int ifc_stat_kept(const ifc_model *m, int layer) {
    if (!m || layer < 0 || layer >= m->cfg.num_layers) return -1;
    return m->kept[layer];
}
const int32_t *ifc_stat_kept_positions(const ifc_model *m, int layer) {
    if (!m || !m->classified || layer < 0 || layer >= m->cfg.num_layers) return NULL;
    return m->kept_pos + (size_t)layer * (size_t)m->cfg.max_position;
}
uint64_t ifc_stat_flops(const ifc_model *m) { return m ? m->flops : 0; }
double ifc_stat_ms(const ifc_model *m) { return m ? m->ms : 0.0; }

uint64_t ifc_dense_flops(const ifc_model *m, int n) {
    if (!m || n < 1) return 0;
    /* every layer keeps all n rows; samplers still run, as they do with threshold -inf */
    return forward_flops_formula(m, n, NULL);
}
