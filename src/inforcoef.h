/* inforcoef: a pruned BERT classifier with token downsampling, in C11.
 *
 * Public API. One opaque model handle; every function that can fail returns an
 * ifc_status and leaves a human-readable message in ifc_last_error().
 * The model file format and the forward pass are specified in docs/model-format.md.
 */
#ifndef INFORCOEF_H
#define INFORCOEF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    IFC_OK = 0,
    IFC_ERR_ARG = 1,      /* bad argument: NULL pointer, length out of range, bad token id */
    IFC_ERR_FORMAT = 2,   /* the buffer is not a valid safetensors container */
    IFC_ERR_MODEL = 3,    /* valid container, but the config or tensors are not a valid model */
    IFC_ERR_NOMEM = 4     /* an allocation failed */
} ifc_status;

typedef struct ifc_model ifc_model;

/* Message of the most recent failure (on this thread); "" when none. Never NULL. */
const char *ifc_last_error(void);

/* Parse and validate a model file held in memory. The model copies (and repacks) what it needs,
 * so `buf` may be freed afterwards. All working memory is allocated here, sized for
 * max_position tokens; classification allocates nothing. */
ifc_status ifc_model_load(const uint8_t *buf, size_t len, ifc_model **out);
void ifc_model_free(ifc_model *m);

/* Classify one sequence. ids/types have n entries, 1 <= n <= ifc_max_length(m); longer input is
 * refused with IFC_ERR_ARG (truncation is the tokenizer's job). ids must be < vocab size and
 * types < type_vocab_size. logits receives ifc_num_labels(m) floats. */
ifc_status ifc_classify(ifc_model *m, const int32_t *ids, const int32_t *types, int n, float *logits);

/* Token-sampler keep threshold (default: the file's keep_threshold). -INFINITY keeps all;
 * NaN is read as -INFINITY (ifc_get_threshold then returns -INFINITY). */
void  ifc_set_threshold(ifc_model *m, float threshold);
float ifc_get_threshold(const ifc_model *m);

/* Shape of the model. */
int ifc_num_layers(const ifc_model *m);
int ifc_num_labels(const ifc_model *m);
int ifc_max_length(const ifc_model *m);
int ifc_hidden_size(const ifc_model *m);

/* Id of the vocabulary token utf8[0..len) (a WordPiece, "##" prefix included), or -1 if the
 * vocabulary has no such token. A token on two lines of the vocabulary gives the last line's id. */
int32_t ifc_token_id(const ifc_model *m, const char *utf8, int32_t len);

/* Statistics of the last successful ifc_classify. */
int      ifc_stat_kept(const ifc_model *m, int layer); /* rows entering `layer` after its sampler */
uint64_t ifc_stat_flops(const ifc_model *m);           /* docs/model-format.md, "FLOPs accounting" */
double   ifc_stat_ms(const ifc_model *m);              /* wall time of the call, milliseconds */
/* Original input positions (0-based, ascending) of the ifc_stat_kept(m, layer) rows entering
 * `layer`: which tokens survived the samplers up to there. Points into the model; valid until the
 * next ifc_classify or ifc_model_free. NULL for a bad layer or before the first classify. */
const int32_t *ifc_stat_kept_positions(const ifc_model *m, int layer);
/* FLOPs the same model would run on n tokens with nothing dropped. */
uint64_t ifc_dense_flops(const ifc_model *m, int n);

#ifdef __cplusplus
}
#endif
#endif
