/* The "config" metadata string (docs/model-format.md, "config"): parse and range-check.
 * Every size is bounded (IFC_MAX_* in ifc_internal.h) before anything is allocated from it, so
 * hidden_size 1e9 is an error message, not an allocation attempt. Unknown keys are ignored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../third_party/cjson/cJSON.h"
#include "ifc_internal.h"

/* Reads integer key `key` of `obj` into *out, requiring lo <= value <= hi. */
static ifc_status get_int(const cJSON *obj, const char *key, int lo, int hi, int *out, const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return ifc_fail(IFC_ERR_MODEL, "config%s: missing \"%s\"", where, key);
    if (!cJSON_IsNumber(v) || floor(v->valuedouble) != v->valuedouble)
        return ifc_fail(IFC_ERR_MODEL, "config%s: \"%s\" is not an integer", where, key);
    double d = v->valuedouble;
    if (!(d >= lo && d <= hi))
        return ifc_fail(IFC_ERR_MODEL, "config%s: \"%s\" = %.17g is outside [%d, %d]", where, key, d, lo, hi);
    *out = (int)d;
    return IFC_OK;
}

static ifc_status get_float(const cJSON *obj, const char *key, float *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v) return ifc_fail(IFC_ERR_MODEL, "config: missing \"%s\"", key);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return ifc_fail(IFC_ERR_MODEL, "config: \"%s\" is not a finite number", key);
    *out = (float)v->valuedouble;
    return IFC_OK;
}

void config_free(ifc_config *c) {
    if (!c) return;
    free(c->layers);
    c->layers = NULL;
}

static ifc_status parse_object(const cJSON *root, ifc_config *c) {
    ifc_status st;
    int version = 0;
    if (!cJSON_IsObject(root)) return ifc_fail(IFC_ERR_MODEL, "config is not a JSON object");
    if ((st = get_int(root, "format_version", INT32_MIN + 1, INT32_MAX, &version, "")) != IFC_OK) return st;
    if (version != 1)
        return ifc_fail(IFC_ERR_MODEL, "config: format_version %d is not supported (this runtime reads 1)", version);
    if ((st = get_int(root, "hidden_size", 1, IFC_MAX_HIDDEN, &c->hidden, "")) != IFC_OK) return st;
    if ((st = get_int(root, "head_size", 1, IFC_MAX_HEAD_SIZE, &c->head_size, "")) != IFC_OK) return st;
    if ((st = get_int(root, "max_position", 1, IFC_MAX_POSITION, &c->max_position, "")) != IFC_OK) return st;
    if ((st = get_int(root, "type_vocab_size", 1, IFC_MAX_TYPE_VOCAB, &c->type_vocab, "")) != IFC_OK) return st;
    if ((st = get_int(root, "vocab_size", 1, IFC_MAX_VOCAB, &c->vocab, "")) != IFC_OK) return st;
    if ((st = get_float(root, "layer_norm_eps", &c->eps)) != IFC_OK) return st;
    /* eps > 0 as a float32 keeps var + eps > 0 in every LayerNorm (eps 0 gives 0/0 on a constant
     * row). A double rounds to a float32 > 0 exactly when it is > 2^-150 (half the smallest
     * subnormal): 1e-50 is refused with 0 and negatives, as the JS and Python readers do
     * (docs/model-format.md, "config"). Compared as a double, so flush-to-zero modes cannot move it. */
    const double eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_eps")->valuedouble;
    if (!(eps > 0x1p-150))
        return ifc_fail(IFC_ERR_MODEL, "config: \"layer_norm_eps\" = %g must be > 0 (as a float32)", eps);
    if ((st = get_float(root, "keep_threshold", &c->keep_threshold)) != IFC_OK) return st;

    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "labels");
    if (!cJSON_IsArray(labels)) return ifc_fail(IFC_ERR_MODEL, "config: missing array \"labels\"");
    c->num_labels = cJSON_GetArraySize(labels);
    if (c->num_labels < 1 || c->num_labels > IFC_MAX_LABELS)
        return ifc_fail(IFC_ERR_MODEL, "config: %d labels is outside [1, %d]", c->num_labels, IFC_MAX_LABELS);
    const cJSON *lab;
    cJSON_ArrayForEach(lab, labels) {
        if (!cJSON_IsString(lab)) return ifc_fail(IFC_ERR_MODEL, "config: a label is not a string");
    }

    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(root, "layers");
    if (!cJSON_IsArray(layers)) return ifc_fail(IFC_ERR_MODEL, "config: missing array \"layers\"");
    c->num_layers = cJSON_GetArraySize(layers);
    if (c->num_layers > IFC_MAX_LAYERS)
        return ifc_fail(IFC_ERR_MODEL, "config: %d layers exceeds %d", c->num_layers, IFC_MAX_LAYERS);
    c->layers = calloc((size_t)(c->num_layers > 0 ? c->num_layers : 1), sizeof *c->layers);
    if (!c->layers) return ifc_fail(IFC_ERR_NOMEM, "out of memory for %d layer configs", c->num_layers);
    int i = 0;
    const cJSON *layer;
    cJSON_ArrayForEach(layer, layers) {
        char where[32];
        snprintf(where, sizeof where, " layer %d", i);
        if (!cJSON_IsObject(layer)) return ifc_fail(IFC_ERR_MODEL, "config layer %d is not an object", i);
        ifc_layer_config *lc = &c->layers[i];
        if ((st = get_int(layer, "heads", 0, IFC_MAX_HEADS, &lc->heads, where)) != IFC_OK) return st;
        if ((st = get_int(layer, "ffn", 0, IFC_MAX_FFN, &lc->ffn, where)) != IFC_OK) return st;
        if (lc->heads * c->head_size > IFC_MAX_ATTN_WIDTH)
            return ifc_fail(IFC_ERR_MODEL, "config layer %d: heads x head_size = %d x %d exceeds %d", i, lc->heads,
                            c->head_size, IFC_MAX_ATTN_WIDTH);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(layer, "sampler");
        if (!cJSON_IsBool(s)) return ifc_fail(IFC_ERR_MODEL, "config layer %d: \"sampler\" is not true/false", i);
        lc->sampler = cJSON_IsTrue(s) ? 1 : 0;
        i++;
    }
    return IFC_OK;
}

ifc_status config_parse(const char *json, ifc_config *c) {
    memset(c, 0, sizeof *c);
    if (!json) return ifc_fail(IFC_ERR_MODEL, "__metadata__ has no \"config\"");
    cJSON *root = cJSON_Parse(json);
    if (!root) return ifc_fail(IFC_ERR_MODEL, "__metadata__ \"config\" is not valid JSON");
    ifc_status st = parse_object(root, c);
    cJSON_Delete(root);
    if (st != IFC_OK) config_free(c);
    return st;
}
