/* Bind the container's tensors to the config (docs/model-format.md, "Tensors" and "Dtypes") and
 * repack them for the kernels.
 *
 * Binding: every header name is parsed into (layer, role) or (global role), optionally with the
 * "_scale" suffix of an I8 (or packed 4-bit U8) tensor. A name the table does not list, a tensor
 * the config says is absent (heads 0, ffn 0, no sampler), a duplicate, a missing tensor, a wrong
 * shape or dtype, U8 outside the embedding tables, or an I8 / U8 tensor and its _scale with one
 * half missing is refused with IFC_ERR_MODEL.
 *
 * Repacking: linear weights become GEMM panels (see ifc_linear in ifc_internal.h). F16 is decoded
 * to F32 here: WebAssembly SIMD128 has no half-precision arithmetic, so F16 is a storage format
 * (half the download) and runs at F32 speed and accuracy. I8 stays int8 (quarter the memory) and
 * runs on i16 dot products. Embedding tables stay in their file dtype (U8: 4-bit codes packed two a
 * byte, an eighth of F32); lookups decode n rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "ifc_internal.h"

/* Dimension symbols of the spec's tensor table. */
enum { DIM_NONE, DIM_V, DIM_P, DIM_T, DIM_D, DIM_A, DIM_F, DIM_L, DIM_2 };
/* When a tensor is present. */
enum { WHEN_ALWAYS, WHEN_SAMPLER, WHEN_ATTN, WHEN_FFN };

typedef struct {
    const char *name; /* full name (global) or suffix after "encoder.layer.{i}." */
    int rows, cols;   /* DIM_*; cols DIM_NONE for 1-D */
    int when;
} role_def;

enum {
    G_WORD, G_POS, G_TYPE, G_EMB_LN_W, G_EMB_LN_B, G_POOL_W, G_POOL_B, G_CLS_W, G_CLS_B, G_COUNT
};
static const role_def global_roles[G_COUNT] = {
    {"embeddings.word_embeddings.weight", DIM_V, DIM_D, WHEN_ALWAYS},
    {"embeddings.position_embeddings.weight", DIM_P, DIM_D, WHEN_ALWAYS},
    {"embeddings.token_type_embeddings.weight", DIM_T, DIM_D, WHEN_ALWAYS},
    {"embeddings.LayerNorm.weight", DIM_D, DIM_NONE, WHEN_ALWAYS},
    {"embeddings.LayerNorm.bias", DIM_D, DIM_NONE, WHEN_ALWAYS},
    {"pooler.dense.weight", DIM_D, DIM_D, WHEN_ALWAYS},
    {"pooler.dense.bias", DIM_D, DIM_NONE, WHEN_ALWAYS},
    {"classifier.weight", DIM_L, DIM_D, WHEN_ALWAYS},
    {"classifier.bias", DIM_L, DIM_NONE, WHEN_ALWAYS},
};

enum {
    L_S_LN1_W, L_S_LN1_B, L_S_D1_W, L_S_D1_B, L_S_LN2_W, L_S_LN2_B, L_S_D2_W, L_S_D2_B,
    L_Q_W, L_Q_B, L_K_W, L_K_B, L_V_W, L_V_B, L_O_W, L_O_B, L_ALN_W, L_ALN_B,
    L_F1_W, L_F1_B, L_F2_W, L_F2_B, L_OLN_W, L_OLN_B, L_COUNT
};
static const role_def layer_roles[L_COUNT] = {
    {"sampler.ln1.weight", DIM_D, DIM_NONE, WHEN_SAMPLER},
    {"sampler.ln1.bias", DIM_D, DIM_NONE, WHEN_SAMPLER},
    {"sampler.dense1.weight", DIM_D, DIM_D, WHEN_SAMPLER},
    {"sampler.dense1.bias", DIM_D, DIM_NONE, WHEN_SAMPLER},
    {"sampler.ln2.weight", DIM_D, DIM_NONE, WHEN_SAMPLER},
    {"sampler.ln2.bias", DIM_D, DIM_NONE, WHEN_SAMPLER},
    {"sampler.dense2.weight", DIM_2, DIM_D, WHEN_SAMPLER},
    {"sampler.dense2.bias", DIM_2, DIM_NONE, WHEN_SAMPLER},
    {"attention.self.query.weight", DIM_A, DIM_D, WHEN_ATTN},
    {"attention.self.query.bias", DIM_A, DIM_NONE, WHEN_ATTN},
    {"attention.self.key.weight", DIM_A, DIM_D, WHEN_ATTN},
    {"attention.self.key.bias", DIM_A, DIM_NONE, WHEN_ATTN},
    {"attention.self.value.weight", DIM_A, DIM_D, WHEN_ATTN},
    {"attention.self.value.bias", DIM_A, DIM_NONE, WHEN_ATTN},
    {"attention.output.dense.weight", DIM_D, DIM_A, WHEN_ATTN},
    {"attention.output.dense.bias", DIM_D, DIM_NONE, WHEN_ATTN},
    {"attention.output.LayerNorm.weight", DIM_D, DIM_NONE, WHEN_ATTN},
    {"attention.output.LayerNorm.bias", DIM_D, DIM_NONE, WHEN_ATTN},
    {"intermediate.dense.weight", DIM_F, DIM_D, WHEN_FFN},
    {"intermediate.dense.bias", DIM_F, DIM_NONE, WHEN_FFN},
    {"output.dense.weight", DIM_D, DIM_F, WHEN_FFN},
    {"output.dense.bias", DIM_D, DIM_NONE, WHEN_FFN},
    {"output.LayerNorm.weight", DIM_D, DIM_NONE, WHEN_FFN},
    {"output.LayerNorm.bias", DIM_D, DIM_NONE, WHEN_FFN},
};

#define LAYER_PREFIX "encoder.layer."

/* One slot per (layer, role): the weight and, for I8, its scale. Globals use layer -1. */
typedef struct {
    const st_tensor *w;
    const st_tensor *scale;
} slot;

typedef struct {
    const ifc_config *cfg;
    slot globals[G_COUNT];
    slot *layers; /* [num_layers * L_COUNT] */
} binding;

/* The three embedding tables (the first global roles): rows looked up, not multiplied. */
static int is_embedding_table(int layer, int role) { return layer < 0 && role <= G_TYPE; }

static const role_def *role_of(int layer, int role) {
    return layer < 0 ? &global_roles[role] : &layer_roles[role];
}

static slot *slot_of(binding *b, int layer, int role) {
    return layer < 0 ? &b->globals[role] : &b->layers[(size_t)layer * L_COUNT + (size_t)role];
}

static void full_name(char *buf, size_t size, int layer, int role, int scale) {
    if (layer < 0)
        snprintf(buf, size, "%s%s", global_roles[role].name, scale ? "_scale" : "");
    else
        snprintf(buf, size, LAYER_PREFIX "%d.%s%s", layer, layer_roles[role].name, scale ? "_scale" : "");
}

static int dim_value(const ifc_config *c, int layer, int dim) {
    switch (dim) {
    case DIM_V: return c->vocab;
    case DIM_P: return c->max_position;
    case DIM_T: return c->type_vocab;
    case DIM_D: return c->hidden;
    case DIM_A: return c->layers[layer].heads * c->head_size;
    case DIM_F: return c->layers[layer].ffn;
    case DIM_L: return c->num_labels;
    case DIM_2: return 2;
    }
    return 0;
}

static int role_present(const ifc_config *c, int layer, int role) {
    switch (role_of(layer, role)->when) {
    case WHEN_SAMPLER: return c->layers[layer].sampler;
    case WHEN_ATTN: return c->layers[layer].heads > 0;
    case WHEN_FFN: return c->layers[layer].ffn > 0;
    }
    return 1;
}

/* Parse "encoder.layer.{i}.{suffix}" / global names into (layer, role). Returns 0 if unknown.
 * The layer number must be canonical decimal (no sign, no leading zeros). */
static int lookup_name(const char *name, size_t len, int num_layers, int *layer, int *role) {
    const size_t plen = sizeof(LAYER_PREFIX) - 1;
    if (len > plen && memcmp(name, LAYER_PREFIX, plen) == 0) {
        size_t i = plen;
        long v = 0;
        size_t digits = 0;
        while (i < len && name[i] >= '0' && name[i] <= '9' && digits < 6) {
            v = v * 10 + (name[i] - '0');
            i++;
            digits++;
        }
        if (digits == 0 || (digits > 1 && name[plen] == '0') || i >= len || name[i] != '.') return 0;
        if (v >= num_layers) return 0;
        i++;
        for (int r = 0; r < L_COUNT; r++) {
            if (strlen(layer_roles[r].name) == len - i && memcmp(layer_roles[r].name, name + i, len - i) == 0) {
                *layer = (int)v;
                *role = r;
                return 1;
            }
        }
        return 0;
    }
    for (int r = 0; r < G_COUNT; r++) {
        if (strlen(global_roles[r].name) == len && memcmp(global_roles[r].name, name, len) == 0) {
            *layer = -1;
            *role = r;
            return 1;
        }
    }
    return 0;
}

static ifc_status bind_tensors(const st_file *f, binding *b) {
    const ifc_config *c = b->cfg;
    for (int i = 0; i < f->count; i++) {
        const st_tensor *t = &f->tensors[i];
        size_t len = strlen(t->name);
        int is_scale = len > 6 && strcmp(t->name + len - 6, "_scale") == 0;
        int layer, role;
        if (!lookup_name(t->name, is_scale ? len - 6 : len, c->num_layers, &layer, &role) ||
            (is_scale && role_of(layer, role)->cols == DIM_NONE))
            return ifc_fail(IFC_ERR_MODEL, "unknown tensor '%s' (not in the inforcoef tensor table)", t->name);
        if (!role_present(c, layer, role))
            return ifc_fail(IFC_ERR_MODEL, "tensor '%s' is present but layer %d's config (heads %d, ffn %d, sampler %s) has no such block",
                            t->name, layer, c->layers[layer].heads, c->layers[layer].ffn,
                            c->layers[layer].sampler ? "true" : "false");
        slot *s = slot_of(b, layer, role);
        const st_tensor **dst = is_scale ? &s->scale : &s->w;
        if (*dst) return ifc_fail(IFC_ERR_MODEL, "tensor '%s' appears twice in the header", t->name);
        *dst = t;
    }
    return IFC_OK;
}

/* Shape, dtype and I8/_scale pairing of one slot against the table. */
static ifc_status check_slot(const binding *b, int layer, int role) {
    const ifc_config *c = b->cfg;
    const role_def *rd = role_of(layer, role);
    const slot *s = layer < 0 ? &b->globals[role] : &b->layers[(size_t)layer * L_COUNT + (size_t)role];
    if (!s->w) {
        char missing[160];
        full_name(missing, sizeof missing, layer, role, 0);
        if (s->scale) return ifc_fail(IFC_ERR_MODEL, "tensor '%s_scale' has no I8 tensor '%s'", missing, missing);
        return ifc_fail(IFC_ERR_MODEL, "missing tensor '%s'", missing);
    }
    /* bind_tensors matched the file's name exactly, so it is the table's full name; no snprintf
     * on the success path (in wasm, ~60 calls of printf's core per load made V8 recompile it). */
    const st_tensor *t = s->w;
    const char *name = t->name;
    uint64_t rows = (uint64_t)dim_value(c, layer, rd->rows);
    if (rd->cols == DIM_NONE) {
        if (t->rank != 1 || t->shape[0] != rows)
            return ifc_fail(IFC_ERR_MODEL, "tensor '%s': shape should be [%llu] (rank %d given, first dim %llu)", name,
                            (unsigned long long)rows, t->rank, (unsigned long long)(t->rank > 0 ? t->shape[0] : 0));
        if (t->dtype != IFC_DT_F32)
            return ifc_fail(IFC_ERR_MODEL, "tensor '%s': 1-D tensors must be F32, not %s", name, ifc_dtype_name(t->dtype));
        return IFC_OK;
    }
    uint64_t cols = (uint64_t)dim_value(c, layer, rd->cols);
    /* U8 is a packed 4-bit table, two codes a byte: for the embedding tables only (the GEMM
     * kernels have no 4-bit path, and a table row is decoded once per token). */
    const int packed = t->dtype == IFC_DT_U8;
    if (packed && !is_embedding_table(layer, role))
        return ifc_fail(IFC_ERR_MODEL, "tensor '%s': U8 (packed 4-bit) is allowed for the embedding tables only", name);
    uint64_t file_cols = packed ? (cols + 1) / 2 : cols;
    if (t->rank != 2 || t->shape[0] != rows || t->shape[1] != file_cols)
        return ifc_fail(IFC_ERR_MODEL, "tensor '%s': shape should be [%llu, %llu] per the config%s, file has rank %d [%llu, %llu]",
                        name, (unsigned long long)rows, (unsigned long long)file_cols,
                        packed ? " (4-bit codes, two a byte)" : "", t->rank,
                        (unsigned long long)(t->rank > 0 ? t->shape[0] : 0),
                        (unsigned long long)(t->rank > 1 ? t->shape[1] : 0));
    if (t->dtype == IFC_DT_I8 || packed) {
        if (!s->scale) return ifc_fail(IFC_ERR_MODEL, "%s tensor '%s' has no '%s_scale'", ifc_dtype_name(t->dtype), name, name);
        if (s->scale->dtype != IFC_DT_F32 || s->scale->rank != 1 || s->scale->shape[0] != rows)
            return ifc_fail(IFC_ERR_MODEL, "tensor '%s_scale' should be F32 of shape [%llu]", name, (unsigned long long)rows);
    } else if (s->scale) {
        return ifc_fail(IFC_ERR_MODEL, "tensor '%s_scale' given but '%s' is %s, not I8 or U8", name, name, ifc_dtype_name(t->dtype));
    }
    return IFC_OK;
}

/* ---- decoding ---- */

float ifc_read_f32(const uint8_t *p) {
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

float ifc_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13); /* inf / nan */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { /* subnormal half: normalise */
        int e = -1;
        do { e++; man <<= 1; } while (!(man & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    }
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/* n little-endian F32 values from the file. Little-endian hosts (every WebAssembly engine, x86,
 * ARM as used) copy them as they are: in wasm one memory.copy instead of a loop that V8 runs in
 * its baseline tier at load (31 MB of word embeddings in an F32 teacher). */
static void read_f32s(float *dst, const uint8_t *src, size_t n) {
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(dst, src, n * sizeof *dst);
#else
    for (size_t i = 0; i < n; i++) dst[i] = ifc_read_f32(src + i * 4);
#endif
}

/* Row r of a linear layer's weight as f32 (I8 times its row scale). check_slot allows F32, F16 and
 * I8 here (U8, the packed 4-bit format, only in the embedding tables), so the last branch is I8. */
static void decode_row(const slot *s, size_t r, size_t cols, float *out) {
    const st_tensor *t = s->w;
    if (t->dtype == IFC_DT_F32) {
        read_f32s(out, t->data + r * cols * 4, cols);
    } else if (t->dtype == IFC_DT_F16) {
        for (size_t k = 0; k < cols; k++) {
            const uint8_t *p = t->data + (r * cols + k) * 2;
            out[k] = ifc_half_to_float((uint16_t)(p[0] | p[1] << 8));
        }
    } else {
        float sc = ifc_read_f32(s->scale->data + r * 4);
        for (size_t k = 0; k < cols; k++) out[k] = sc * (float)(int8_t)t->data[r * cols + k];
    }
}

static float *copy_f32_vector(const st_tensor *t, size_t n) {
    float *v = malloc((n > 0 ? n : 1) * sizeof *v);
    if (v) read_f32s(v, t->data, n);
    return v;
}

static ifc_status load_norm(binding *b, int layer, int role_w, ifc_norm *out) {
    size_t d = (size_t)b->cfg->hidden;
    out->w = copy_f32_vector(slot_of(b, layer, role_w)->w, d);
    out->b = copy_f32_vector(slot_of(b, layer, role_w + 1)->w, d);
    if (!out->w || !out->b) return ifc_fail(IFC_ERR_NOMEM, "out of memory for LayerNorm weights");
    return IFC_OK;
}

/* One weight row into its lane of a packed panel (layouts: ifc_linear in ifc_internal.h). Out of
 * line (IFC_NOINLINE), so that V8 recompiles these small loops rather than all of load_linear. */
static IFC_NOINLINE void pack_row_i8(int8_t *panel, const int8_t *src, int in, size_t lane) {
    for (int k = 0; k < in; k++) panel[(size_t)(k / 2) * IFC_NR * 2 + lane * 2 + (size_t)(k & 1)] = src[k];
}
static IFC_NOINLINE void pack_row_f32(float *panel, const float *row, int in, size_t lane) {
    for (int k = 0; k < in; k++) panel[(size_t)k * IFC_NR + lane] = row[k];
}

/* Linear layer from `nparts` weight slots stacked along the output dimension (QKV uses 3),
 * with their biases. Runs on I8 kernels only when every part is I8; otherwise F32 (an I8 part
 * is then dequantised, which is exactly the value the spec defines). */
static ifc_status load_linear(binding *b, int layer, const int *roles_w, int nparts, ifc_linear *l) {
    int in = 0, out = 0, all_i8 = 1;
    for (int p = 0; p < nparts; p++) {
        const slot *s = slot_of(b, layer, roles_w[p]);
        out += (int)s->w->shape[0];
        in = (int)s->w->shape[1];
        if (s->w->dtype != IFC_DT_I8) all_i8 = 0;
    }
    l->out = out;
    l->in = in;
    size_t padded_out = round_up_size((size_t)out, IFC_NR), nw;
    l->bias = malloc((size_t)out * sizeof *l->bias);
    if (!l->bias) return ifc_fail(IFC_ERR_NOMEM, "out of memory for a bias of %d", out);
    if (all_i8) {
        l->kind = IFC_LIN_I8;
        l->in_pad = in + (in & 1);
        /* |x| <= qmax, |w| <= 128: in_pad * qmax * 128 must stay below 2^31 in the i32 sums. */
        long long q = 2147483647LL / (128LL * (l->in_pad > 0 ? l->in_pad : 1));
        l->qmax = (int)(q < 32767 ? q : 32767);
        if (!ck_mul_size(padded_out, (size_t)l->in_pad, &nw) || !(l->wq = calloc(nw > 0 ? nw : 1, 1)) ||
            !(l->scale = calloc(padded_out, sizeof *l->scale)))
            return ifc_fail(IFC_ERR_NOMEM, "out of memory for an I8 weight [%d, %d]", out, in);
    } else {
        l->kind = IFC_LIN_F32;
        if (!ck_mul_size(padded_out, (size_t)in, &nw) || nw > SIZE_MAX / sizeof(float) ||
            !(l->wf = calloc(nw > 0 ? nw : 1, sizeof *l->wf)))
            return ifc_fail(IFC_ERR_NOMEM, "out of memory for a weight [%d, %d]", out, in);
    }
    float *row = malloc(((size_t)in > 0 ? (size_t)in : 1) * sizeof *row);
    if (!row) return ifc_fail(IFC_ERR_NOMEM, "out of memory");
    int c = 0;
    for (int p = 0; p < nparts; p++) {
        const slot *s = slot_of(b, layer, roles_w[p]);
        const st_tensor *bias = slot_of(b, layer, roles_w[p] + 1)->w;
        int rows = (int)s->w->shape[0];
        for (int r = 0; r < rows; r++, c++) {
            l->bias[c] = ifc_read_f32(bias->data + (size_t)r * 4);
            size_t panel = (size_t)(c / IFC_NR), lane = (size_t)(c % IFC_NR);
            if (all_i8) {
                pack_row_i8(l->wq + panel * (size_t)l->in_pad * IFC_NR, (const int8_t *)s->w->data + (size_t)r * (size_t)in, in, lane);
                l->scale[c] = ifc_read_f32(s->scale->data + (size_t)r * 4);
            } else {
                decode_row(s, (size_t)r, (size_t)in, row);
                pack_row_f32(l->wf + panel * (size_t)in * IFC_NR, row, in, lane);
            }
        }
    }
    free(row);
    return IFC_OK;
}

static ifc_status load_linear1(binding *b, int layer, int role_w, ifc_linear *l) {
    return load_linear(b, layer, &role_w, 1, l);
}

static ifc_status load_table(binding *b, int role, ifc_table *t) {
    const slot *s = slot_of(b, -1, role);
    t->dtype = s->w->dtype;
    t->rows = (int)s->w->shape[0];
    t->cols = b->cfg->hidden; /* = shape[1], or twice it (less an odd column's pad) for packed U8 */
    size_t count = (size_t)t->rows * (size_t)t->cols; /* both bounded by the config limits and the file */
    size_t bytes = (size_t)(s->w->end - s->w->begin);
    t->data = malloc(bytes > 0 ? bytes : 1);
    if (!t->data) return ifc_fail(IFC_ERR_NOMEM, "out of memory for '%s' (%zu bytes)", global_roles[role].name, bytes);
    switch (t->dtype) {
    case IFC_DT_F32:
        read_f32s((float *)t->data, s->w->data, count);
        break;
    case IFC_DT_F16:
        for (size_t i = 0; i < count; i++)
            ((uint16_t *)t->data)[i] = (uint16_t)(s->w->data[2 * i] | s->w->data[2 * i + 1] << 8);
        break;
    case IFC_DT_I8:
    case IFC_DT_U8: /* count codes, or (cols + 1) / 2 bytes a row of packed 4-bit codes */
        memcpy(t->data, s->w->data, bytes);
        t->scale = copy_f32_vector(s->scale, (size_t)t->rows);
        if (!t->scale) return ifc_fail(IFC_ERR_NOMEM, "out of memory for embedding scales");
        break;
    }
    return IFC_OK;
}

size_t linear_scratch_k(const ifc_linear *l) { return l->kind == IFC_LIN_I8 ? (size_t)l->in_pad : 0; }

static void free_linear(ifc_linear *l) {
    free(l->wf);
    free(l->wq);
    free(l->scale);
    free(l->bias);
    memset(l, 0, sizeof *l);
}

static void free_norm(ifc_norm *n) {
    free(n->w);
    free(n->b);
    n->w = n->b = NULL;
}

void weights_free(ifc_model *m) {
    ifc_table *tables[3] = {&m->word, &m->pos, &m->type};
    for (int i = 0; i < 3; i++) {
        free(tables[i]->data);
        free(tables[i]->scale);
        memset(tables[i], 0, sizeof *tables[i]);
    }
    free_norm(&m->emb_ln);
    if (m->layers) {
        for (int i = 0; i < m->cfg.num_layers; i++) {
            ifc_layer *L = &m->layers[i];
            free_norm(&L->s_ln1);
            free_norm(&L->s_ln2);
            free_linear(&L->s_dense1);
            free_linear(&L->s_dense2);
            free_linear(&L->qkv);
            free_linear(&L->attn_out);
            free_norm(&L->attn_ln);
            free_linear(&L->ffn_in);
            free_linear(&L->ffn_out);
            free_norm(&L->ffn_ln);
        }
        free(m->layers);
        m->layers = NULL;
    }
    free_linear(&m->pooler);
    free_linear(&m->classifier);
}

static ifc_status fill_model(binding *b, ifc_model *m) {
    const ifc_config *c = &m->cfg;
    ifc_status st;
    if ((st = load_table(b, G_WORD, &m->word)) || (st = load_table(b, G_POS, &m->pos)) ||
        (st = load_table(b, G_TYPE, &m->type)) || (st = load_norm(b, -1, G_EMB_LN_W, &m->emb_ln)) ||
        (st = load_linear1(b, -1, G_POOL_W, &m->pooler)) || (st = load_linear1(b, -1, G_CLS_W, &m->classifier)))
        return st;
    m->layers = calloc((size_t)(c->num_layers > 0 ? c->num_layers : 1), sizeof *m->layers);
    if (!m->layers) return ifc_fail(IFC_ERR_NOMEM, "out of memory for %d layers", c->num_layers);
    for (int i = 0; i < c->num_layers; i++) {
        ifc_layer *L = &m->layers[i];
        L->heads = c->layers[i].heads;
        L->attn = L->heads * c->head_size;
        L->ffn = c->layers[i].ffn;
        L->sampler = c->layers[i].sampler;
        if (L->sampler &&
            ((st = load_norm(b, i, L_S_LN1_W, &L->s_ln1)) || (st = load_norm(b, i, L_S_LN2_W, &L->s_ln2)) ||
             (st = load_linear1(b, i, L_S_D1_W, &L->s_dense1)) || (st = load_linear1(b, i, L_S_D2_W, &L->s_dense2))))
            return st;
        if (L->heads > 0) {
            static const int qkv_roles[3] = {L_Q_W, L_K_W, L_V_W};
            if ((st = load_linear(b, i, qkv_roles, 3, &L->qkv)) || (st = load_linear1(b, i, L_O_W, &L->attn_out)) ||
                (st = load_norm(b, i, L_ALN_W, &L->attn_ln)))
                return st;
        }
        if (L->ffn > 0 &&
            ((st = load_linear1(b, i, L_F1_W, &L->ffn_in)) || (st = load_linear1(b, i, L_F2_W, &L->ffn_out)) ||
             (st = load_norm(b, i, L_OLN_W, &L->ffn_ln))))
            return st;
    }
    return IFC_OK;
}

ifc_status weights_load(const st_file *f, ifc_model *m) {
    binding b;
    memset(&b, 0, sizeof b);
    b.cfg = &m->cfg;
    b.layers = calloc((size_t)(m->cfg.num_layers > 0 ? m->cfg.num_layers : 1) * L_COUNT, sizeof *b.layers);
    if (!b.layers) return ifc_fail(IFC_ERR_NOMEM, "out of memory binding tensors");
    ifc_status st = bind_tensors(f, &b);
    for (int r = 0; st == IFC_OK && r < G_COUNT; r++) st = check_slot(&b, -1, r);
    for (int i = 0; st == IFC_OK && i < m->cfg.num_layers; i++)
        for (int r = 0; st == IFC_OK && r < L_COUNT; r++)
            if (role_present(&m->cfg, i, r)) st = check_slot(&b, i, r);
    if (st == IFC_OK) st = fill_model(&b, m);
    free(b.layers);
    return st;
}
