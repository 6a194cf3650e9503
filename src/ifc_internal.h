/* Internal declarations shared by the runtime's source files. Not part of the public API.
 *
 * Layout of the runtime (one job per file):
 *   errors.c       error codes + thread-local message (ifc_last_error)
 *   checked.h      overflow-checked size arithmetic
 *   safetensors.c  container parse: header length, JSON header, dtypes, shapes, offsets
 *   config.c       the "config" metadata object: parse and range-check
 *   weights.c      match tensors to the config; repack weights for the kernels
 *   gemm.c         y = x W^T + b on packed weights: f32 and i8 (i16 dot products)
 *   ops.c          LayerNorm, GELU (erf), softmax, exp, tanh, embedding rows
 *   forward.c      the forward pass, token samplers with row removal, FLOPs
 *   model.c        load / free / getters, the activation arena
 *   clock.c        wall clock (native) or the host's clock (wasm import)
 *   wasm_exports.c double-returning wrappers for JavaScript
 */
#ifndef IFC_INTERNAL_H
#define IFC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "inforcoef.h"

/* A function kept out of line in the wasm build (with binaryen's one-caller inlining limited,
 * build.sh): V8 recompiles a wasm function with its optimising tier once it has run long enough,
 * and a per-element load loop inlined into a big loader function made V8 recompile the whole
 * loader at every load instead of the small loop. */
#if defined(__GNUC__) || defined(__clang__)
#define IFC_NOINLINE __attribute__((noinline))
#else
#define IFC_NOINLINE
#endif

/* ---- errors (errors.c) ---- */

/* Record `status` with a printf-style message for ifc_last_error(); returns `status`. */
ifc_status ifc_fail(ifc_status status, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void ifc_clear_error(void);

/* ---- clock (clock.c) ---- */
double ifc_clock_ms(void);

/* ---- safetensors container (safetensors.c) ---- */

/* U8 appears only as a packed 4-bit embedding table (docs/model-format.md, "Dtypes"). */
typedef enum { IFC_DT_F32 = 0, IFC_DT_F16 = 1, IFC_DT_I8 = 2, IFC_DT_U8 = 3 } ifc_dtype;

#define IFC_ST_MAX_RANK 8
#define IFC_ST_MAX_HEADER 100000000u /* the spec's limit on N */

typedef struct {
    const char *name;       /* points into the parsed header (owned by st_file.root) */
    ifc_dtype dtype;
    int rank;
    uint64_t shape[IFC_ST_MAX_RANK];
    uint64_t begin, end;    /* byte offsets relative to the data area, validated */
    const uint8_t *data;    /* = data area + begin, inside the caller's buffer */
} st_tensor;

typedef struct {
    void *root;             /* cJSON tree of the header (opaque here) */
    st_tensor *tensors;     /* [count] in header order */
    int count;
    const char *meta_format; /* __metadata__ strings, NULL when absent */
    const char *meta_config;
    const char *meta_vocab;
} st_file;

/* Parse and validate the container. On success *out owns memory: release with st_free. */
ifc_status st_parse(const uint8_t *buf, size_t len, st_file *out);
void st_free(st_file *f);
size_t ifc_dtype_size(ifc_dtype dt);
const char *ifc_dtype_name(ifc_dtype dt);

/* ---- config (config.c) ---- */

typedef struct {
    int heads;   /* 0: attention block removed */
    int ffn;     /* 0: FFN block removed */
    int sampler; /* 1: token sampler before this layer's attention */
} ifc_layer_config;

typedef struct {
    int hidden;          /* d */
    int head_size;
    int max_position;    /* P */
    int type_vocab;      /* T */
    int vocab;           /* V */
    int num_labels;      /* L */
    int num_layers;
    float eps;
    float keep_threshold;
    ifc_layer_config *layers; /* [num_layers], malloc'd */
} ifc_config;

/* Limits that refuse absurd configs before anything is sized from them. */
#define IFC_MAX_HIDDEN      16384
#define IFC_MAX_HEAD_SIZE   4096
#define IFC_MAX_HEADS       1024
#define IFC_MAX_ATTN_WIDTH  65536   /* heads * head_size */
#define IFC_MAX_FFN         262144
#define IFC_MAX_POSITION    4096    /* docs/model-format.md: max_position <= 4096 */
#define IFC_MAX_TYPE_VOCAB  65536
#define IFC_MAX_VOCAB       (1 << 24)
#define IFC_MAX_LABELS      65536
#define IFC_MAX_LAYERS      1024
/* Working memory (arena + per-layer kept positions, planned at load for max_position rows) may be
 * at most IFC_WORK_BASE_BYTES + IFC_WORK_PER_FILE_BYTE x the file's size, and never more than
 * IFC_MAX_ARENA_BYTES: it grows with max_position x (hidden, ffn, attention width, max_position),
 * which a small file can set high at little cost (hidden 1, one head); tying it to the file size
 * keeps a 34 KB file from growing a wasm instance to 1 GiB (docs/model-format.md, "Working memory"). */
#define IFC_MAX_ARENA_BYTES      ((size_t)1 << 30)
#define IFC_WORK_BASE_BYTES      ((size_t)64 << 20)
#define IFC_WORK_PER_FILE_BYTE   16

ifc_status config_parse(const char *json, ifc_config *out);
void config_free(ifc_config *c);

/* ---- packed weights (weights.c, gemm.c) ---- */

/* GEMM panel width: output columns per packed panel (the weights are packed for it at load).
 * 8 = two f32x4 accumulators per row in the SIMD128 tile and two SSE registers natively; 16 = one
 * AVX-512 register or two AVX registers when built with -march=native. See gemm.c. */
#if !defined(__wasm__) && (defined(__AVX512F__) || defined(__AVX__))
#define IFC_NR 16
#else
#define IFC_NR 8
#endif

typedef enum { IFC_LIN_F32 = 0, IFC_LIN_I8 = 1 } ifc_linear_kind;

/* A linear layer y = x W^T + b with W [out, in], repacked at load into panels of IFC_NR
 * output columns:
 *   F32: wf[p][k][c]         = W[p*NR + c][k]                    (k < in, zero columns past out)
 *   I8:  wq[p][k/2][c][k%2]  = int8 W[p*NR + c][k]                (k < in_pad = in rounded to even)
 *        with scale[p*NR + c] the per-row scale (0 past out). */
typedef struct {
    ifc_linear_kind kind;
    int out, in;
    int in_pad;        /* I8: `in` rounded up to even */
    int qmax;          /* I8: activation quantisation range, keeps the i32 sums from overflowing */
    float *wf;         /* F32 panels */
    int8_t *wq;        /* I8 panels */
    float *scale;      /* I8: [round_up(out, NR)] */
    float *bias;       /* [out] */
} ifc_linear;

/* An embedding table kept in its file dtype; rows are decoded on lookup. U8 is the packed 4-bit
 * table: row r holds (cols + 1) / 2 bytes, column 2j in the low nibble of byte j and column 2j + 1
 * in the high one, each a two's complement code in -8..7 times scale[r]. */
typedef struct {
    ifc_dtype dtype;
    int rows, cols;
    void *data;        /* [rows, cols] in dtype; U8: [rows, (cols + 1) / 2] */
    float *scale;      /* I8 and U8: [rows] */
} ifc_table;

typedef struct {
    float *w, *b;      /* [d] */
} ifc_norm;

typedef struct {
    int heads, attn, ffn, sampler; /* attn = heads * head_size */
    ifc_norm s_ln1, s_ln2;
    ifc_linear s_dense1, s_dense2; /* [d, d], [2, d] */
    ifc_linear qkv;                /* [3a, d]: query, key, value rows stacked */
    ifc_linear attn_out;           /* [d, a] */
    ifc_norm attn_ln;
    ifc_linear ffn_in, ffn_out;    /* [f, d], [d, f] */
    ifc_norm ffn_ln;
} ifc_layer;

/* The activation arena: every buffer classify needs, carved from one allocation at load. */
typedef struct {
    void *block;
    float *h;        /* [P, d]    residual stream */
    float *t;        /* [P, d]    block outputs, sampler LN */
    float *u;        /* [P, max(d, F)] FFN intermediate, sampler hidden */
    float *s;        /* [P, 2]    sampler logits */
    float *qkv;      /* [P, 3A] */
    float *ctx;      /* [P, A] */
    float *scores;   /* [P, P]    one head at a time */
    float *kvpack;   /* packed K^T or V of one head */
    int16_t *xq;     /* [P, Kmax] I8 path: quantised activations */
    float *xs;       /* [P]       their per-row scales */
    float *pooled;   /* [2, d] */
    size_t bytes;
} ifc_arena;

/* vocab.c: token -> id index of the vocabulary, for ifc_token_id; vocab_build also refuses a vocabulary
 * whose line count is not the config's vocab_size (text: within the header, so offsets fit in 32 bits). */
typedef struct {
    char *text;      /* the tokens, each followed by its '\n' (the last by '\0') */
    uint32_t *start; /* [vocab + 1] byte offset of each token in text; token id ends at start[id + 1] - 1 */
    int32_t *slots;  /* [cap] id + 1 of the token hashed there, 0 = empty; cap: a power of two >= 2 * vocab */
    uint32_t cap;
} ifc_vocab;
ifc_status vocab_build(const char *lines, int count, ifc_vocab *v);
int32_t vocab_find(const ifc_vocab *v, const char *s, size_t len);
void vocab_free(ifc_vocab *v);

struct ifc_model {
    ifc_config cfg;
    ifc_vocab vocab;
    ifc_table word, pos, type;
    ifc_norm emb_ln;
    ifc_layer *layers;  /* [num_layers] */
    ifc_linear pooler, classifier;
    float threshold;
    ifc_arena arena;
    /* statistics of the last successful classify */
    int *kept;          /* [num_layers] */
    int32_t *row_pos;   /* [max_position] original position of each current row (forward.c) */
    int32_t *kept_pos;  /* [num_layers, max_position] positions of the rows entering each layer */
    int classified;     /* a classify has succeeded, so the statistics mean something */
    uint64_t flops;
    double ms;
};

/* weights.c: bind the container's tensors to the config and fill m's weights. */
ifc_status weights_load(const st_file *f, ifc_model *m);
void weights_free(ifc_model *m);
size_t linear_scratch_k(const ifc_linear *l); /* I8: columns of xq it needs, else 0 */

/* gemm.c */
/* y[r][c] = sum_k x[r][k] W[c][k] + bias[c] for r < n, c < out; x row stride ldx, y row stride ldy.
 * xq/xs: scratch for the I8 path ([n, in_pad] and [n]). */
void linear_forward(const ifc_linear *l, int n, const float *x, int ldx, float *y, int ldy,
                    int16_t *xq, float *xs);
/* Same on an f32 panel buffer `wp` for W [out, k] (used for attention, packed per call). */
void gemm_f32_packed(int n, int out, int k, const float *x, int ldx, const float *wp,
                     const float *bias, float *y, int ldy);
/* Pack W into panels: W[c][k] = src[c * stride_c + k * stride_k], c < out, k < in. */
void pack_f32_panels(float *dst, const float *src, int out, int in, size_t stride_c, size_t stride_k);
size_t packed_f32_floats(int out, int in);

/* ops.c */
void layernorm_rows(float *y, const float *x, int n, int d, size_t ld, const ifc_norm *nrm, float eps);
void add_layernorm_rows(float *h, const float *t, int n, int d, const ifc_norm *nrm, float eps);
void gelu_inplace(float *x, size_t count);
void softmax_rows_scaled(float *s, int n, int cols, size_t ld, float scale);
void tanh_inplace(float *x, int count);
void table_row_add(const ifc_table *t, int row, float *acc);   /* acc[c] += table[row][c] */
void table_row_set(const ifc_table *t, int row, float *out);   /* out[c]  = table[row][c] */
float ifc_half_to_float(uint16_t h);
float ifc_read_f32(const uint8_t *p);

/* forward.c */
uint64_t forward_flops_formula(const ifc_model *m, int n, const int *kept);
ifc_status forward_classify(ifc_model *m, const int32_t *ids, const int32_t *types, int n, float *logits);

/* model.c */
ifc_status arena_plan(ifc_model *m, size_t file_bytes);

#endif
