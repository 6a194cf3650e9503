/* The forward pass (docs/model-format.md, "Forward pass"), one function per step, and the FLOPs
 * accounting ("FLOPs accounting"). All buffers come from the arena planned at load.
 *
 * Shapes: n = rows currently in the sequence (shrinks at each sampler), d = hidden,
 * a = heads * head_size of the layer, f = ffn width, hs = head_size, L = labels. */
#include <math.h>
#include <string.h>

#include "ifc_internal.h"

/* h[n, d] = LN_emb(word[ids[j]] + pos[j] + type[types[j]]) */
static void embed(const ifc_model *m, const int32_t *ids, const int32_t *types, int n, float *h) {
    const int d = m->cfg.hidden;
    for (int j = 0; j < n; j++) {
        float *row = h + (size_t)j * d;
        table_row_set(&m->word, ids[j], row);
        table_row_add(&m->pos, j, row);
        table_row_add(&m->type, types[j], row);
    }
    layernorm_rows(h, h, n, d, (size_t)d, &m->emb_ln, m->cfg.eps);
}

/* Token sampler: score rows 1..n-1 of h[n, d], keep row 0 and the rows with
 * (keep - drop) logit > threshold, and compact h in place (order preserved). Returns the new n. */
static int sample_tokens(ifc_model *m, const ifc_layer *L, float *h, int n) {
    const int d = m->cfg.hidden, rows = n - 1;
    ifc_arena *A = &m->arena;
    if (rows <= 0) return n;
    /* t[rows, d] = ln1(h[1..n)); u[rows, d] = GELU(ln2(t W1^T + b1)); s[rows, 2] = u W2^T + b2 */
    layernorm_rows(A->t, h + d, rows, d, (size_t)d, &L->s_ln1, m->cfg.eps);
    linear_forward(&L->s_dense1, rows, A->t, d, A->u, d, A->xq, A->xs);
    layernorm_rows(A->u, A->u, rows, d, (size_t)d, &L->s_ln2, m->cfg.eps);
    gelu_inplace(A->u, (size_t)rows * (size_t)d);
    linear_forward(&L->s_dense2, rows, A->u, d, A->s, 2, A->xq, A->xs);
    int kept = 1; /* [CLS] */
    for (int j = 1; j < n; j++) {
        const float drop = A->s[(size_t)(j - 1) * 2], keep = A->s[(size_t)(j - 1) * 2 + 1];
        if (keep - drop > m->threshold) {
            if (kept != j) memcpy(h + (size_t)kept * d, h + (size_t)j * d, (size_t)d * sizeof *h);
            m->row_pos[kept] = m->row_pos[j];
            kept++;
        }
    }
    return kept;
}

/* h[n, d] = LN_att(h + MHA(h) Wo^T + bo): attention over the n current rows only. */
static void attention_block(ifc_model *m, const ifc_layer *L, float *h, int n) {
    const int d = m->cfg.hidden, hs = m->cfg.head_size, a = L->attn, a3 = 3 * a;
    ifc_arena *A = &m->arena;
    /* qkv[n, 3a] = h Wqkv^T + b: columns [0, a) query, [a, 2a) key, [2a, 3a) value */
    linear_forward(&L->qkv, n, h, d, A->qkv, a3, A->xq, A->xs);
    const float scale = 1.0f / sqrtf((float)hs);
    for (int head = 0; head < L->heads; head++) {
        const float *q = A->qkv + (size_t)head * hs;
        const float *k = A->qkv + (size_t)a + (size_t)head * hs;
        const float *v = A->qkv + 2 * (size_t)a + (size_t)head * hs;
        /* scores[n, n] = q_h[n, hs] k_h[n, hs]^T: k_h packed as a weight with n outputs */
        pack_f32_panels(A->kvpack, k, n, hs, (size_t)a3, 1);
        gemm_f32_packed(n, n, hs, q, a3, A->kvpack, NULL, A->scores, n);
        softmax_rows_scaled(A->scores, n, n, (size_t)n, scale);
        /* ctx[:, head] [n, hs] = scores[n, n] v_h[n, hs]: v_h packed as a weight [hs, n] */
        pack_f32_panels(A->kvpack, v, hs, n, 1, (size_t)a3);
        gemm_f32_packed(n, hs, n, A->scores, n, A->kvpack, NULL, A->ctx + (size_t)head * hs, a);
    }
    /* t[n, d] = ctx[n, a] Wo^T + bo; h = LN(h + t) */
    linear_forward(&L->attn_out, n, A->ctx, a, A->t, d, A->xq, A->xs);
    add_layernorm_rows(h, A->t, n, d, &L->attn_ln, m->cfg.eps);
}

/* h[n, d] = LN_out(h + GELU(h W1^T + b1) W2^T + b2) */
static void ffn_block(ifc_model *m, const ifc_layer *L, float *h, int n) {
    const int d = m->cfg.hidden, f = L->ffn;
    ifc_arena *A = &m->arena;
    linear_forward(&L->ffn_in, n, h, d, A->u, f, A->xq, A->xs);   /* u[n, f] */
    gelu_inplace(A->u, (size_t)n * (size_t)f);
    linear_forward(&L->ffn_out, n, A->u, f, A->t, d, A->xq, A->xs); /* t[n, d] */
    add_layernorm_rows(h, A->t, n, d, &L->ffn_ln, m->cfg.eps);
}

/* logits[L] = classifier(tanh(pooler(h[0]))) */
static void pool_classify(ifc_model *m, const float *h, float *logits) {
    const int d = m->cfg.hidden;
    ifc_arena *A = &m->arena;
    linear_forward(&m->pooler, 1, h, d, A->pooled, d, A->xq, A->xs);
    tanh_inplace(A->pooled, d);
    linear_forward(&m->classifier, 1, A->pooled, d, logits, m->cfg.num_labels, A->xq, A->xs);
}

/* FLOPs of one sequence of n tokens given kept[i] rows per layer (docs/model-format.md);
 * kept NULL: nothing dropped, every kept[i] = n. */
uint64_t forward_flops_formula(const ifc_model *m, int n, const int *kept) {
    const ifc_config *c = &m->cfg;
    const uint64_t d = (uint64_t)c->hidden;
    uint64_t total = 0, prev = (uint64_t)n;
    for (int i = 0; i < c->num_layers; i++) {
        const ifc_layer_config *lc = &c->layers[i];
        const uint64_t ni = kept ? (uint64_t)kept[i] : (uint64_t)n, a = (uint64_t)lc->heads * (uint64_t)c->head_size,
                       f = (uint64_t)lc->ffn;
        if (lc->sampler && prev > 0) total += 2 * (prev - 1) * (d * d + 2 * d);
        if (lc->heads > 0) total += 2 * ni * d * (3 * a) + 2 * ni * ni * a + 2 * ni * ni * a + 2 * ni * a * d;
        if (lc->ffn > 0) total += 2 * ni * d * f + 2 * ni * f * d;
        prev = ni;
    }
    return total + 2 * d * d + 2 * d * (uint64_t)c->num_labels;
}

ifc_status forward_classify(ifc_model *m, const int32_t *ids, const int32_t *types, int n, float *logits) {
    float *h = m->arena.h;
    embed(m, ids, types, n, h);
    for (int j = 0; j < n; j++) m->row_pos[j] = j;
    for (int i = 0; i < m->cfg.num_layers; i++) {
        const ifc_layer *L = &m->layers[i];
        if (L->sampler) n = sample_tokens(m, L, h, n);
        m->kept[i] = n;
        memcpy(m->kept_pos + (size_t)i * (size_t)m->cfg.max_position, m->row_pos, (size_t)n * sizeof *m->row_pos);
        if (L->heads > 0) attention_block(m, L, h, n);
        if (L->ffn > 0) ffn_block(m, L, h, n);
    }
    pool_classify(m, h, logits);
    return IFC_OK;
}
