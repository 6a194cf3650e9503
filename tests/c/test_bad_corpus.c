/* The hostile model corpus, tests/fixtures/bad/ (written by tests/fixtures/bad/generate.mjs, listed
 * in its manifest.json): every refused file must fail with the manifest's status (format / model)
 * and a message containing the manifest's substring, and leave the model pointer NULL.
 * ("ok" files are degenerate but valid models: tests/c/test_numerics.c runs them.)
 *
 * Then fuzz/regressions/: inputs the fuzzers once crashed on (fuzz/README.md). A fuzz_load input
 * must load or be refused with a message, and a loaded one must classify, without any sanitizer
 * report; a fuzz_model input (named model-*) must pass fuzz/model_gen.h's property check.
 *
 * Each file is copied into a buffer of exactly its size, so that a one-byte over-read is an
 * AddressSanitizer report (scripts/sanitize.sh) or a valgrind error (scripts/valgrind.sh). */
#define _POSIX_C_SOURCE 200809L /* opendir */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fuzz/model_gen.h"
#include "test_util.h"

void run_bad_corpus_tests(const char *fixtures_dir);

/* The file at `path` in a malloc'd buffer of exactly its length (1 byte for an empty file). */
static uint8_t *read_exact(const char *path, size_t *len) {
    uint8_t *raw = read_file(path, len);
    if (!raw) return NULL;
    uint8_t *buf = malloc(*len > 0 ? *len : 1);
    if (buf) memcpy(buf, raw, *len);
    free(raw);
    return buf;
}

static ifc_status status_named(const char *s) {
    if (strcmp(s, "format") == 0) return IFC_ERR_FORMAT;
    if (strcmp(s, "model") == 0) return IFC_ERR_MODEL;
    return IFC_OK;
}

static void refused_file_test(const char *dir, const cJSON *entry) {
    const char *file = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "file"));
    const char *expect = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "expect"));
    const char *error = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "error"));
    char path[2048], label[256];
    snprintf(path, sizeof path, "%s/%s", dir, file ? file : "?");
    snprintf(label, sizeof label, "bad corpus %s refused (%s)", file ? file : "?", expect ? expect : "?");
    size_t len;
    uint8_t *buf = file ? read_exact(path, &len) : NULL;
    if (!buf || !expect || !error) {
        test_result(0, label, "unreadable file or incomplete manifest entry");
        free(buf);
        return;
    }
    ifc_model *m = (ifc_model *)(uintptr_t)1; /* must be reset to NULL on failure */
    ifc_status st = ifc_model_load(buf, len, &m);
    const ifc_status want = status_named(expect);
    const int ok = want != IFC_OK && st == want && m == NULL && strstr(ifc_last_error(), error) != NULL;
    test_result(ok, label, "status %d (want %d), message \"%s\" (want \"%s\")", (int)st, (int)want, ifc_last_error(), error);
    if (st == IFC_OK && m) ifc_model_free(m);
    free(buf);
}

/* A fuzzer finding: load; if it loads, classify [CLS]-like ids 0..n-1 at the model's max length
 * and at length 1 with three thresholds. Any status is fine; a crash or sanitizer report is not. */
static void regression_test(const char *path, const char *name) {
    size_t len;
    uint8_t *buf = read_exact(path, &len);
    char label[256];
    snprintf(label, sizeof label, "fuzz regression %s", name);
    if (!buf) {
        test_result(0, label, "unreadable");
        return;
    }
    if (strncmp(name, "model-", 6) == 0) { /* a fuzz_model input: bytes for model_gen.h */
        const char *why = mg_check(buf, len);
        free(buf);
        test_result(why == NULL, label, "%s", why ? why : "properties hold");
        return;
    }
    ifc_model *m = NULL;
    ifc_status st = ifc_model_load(buf, len, &m);
    free(buf);
    if (st != IFC_OK) {
        test_result(m == NULL && ifc_last_error()[0] != '\0', label, "refused: %s", ifc_last_error());
        return;
    }
    const int P = ifc_max_length(m), L = ifc_num_labels(m);
    int32_t *ids = calloc((size_t)P, sizeof *ids), *types = calloc((size_t)P, sizeof *types);
    float *logits = calloc((size_t)L, sizeof *logits);
    int failures = 0;
    static const float thresholds[3] = {0.0f, -1e30f, 1e30f};
    for (int t = 0; t < 3 && ids && types && logits; t++) {
        ifc_set_threshold(m, thresholds[t]);
        if (ifc_classify(m, ids, types, P, logits) != IFC_OK) failures++;
        if (ifc_classify(m, ids, types, 1, logits) != IFC_OK) failures++;
    }
    test_result(ids && types && logits && failures == 0, label, "loaded; %d classify failures: %s", failures, ifc_last_error());
    free(ids);
    free(types);
    free(logits);
    ifc_model_free(m);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void regression_tests(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return; /* no findings kept yet */
    char *names[1024];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && count < 1024)
        if (e->d_name[0] != '.' && strcmp(e->d_name, "README.md") != 0) names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)count, sizeof *names, cmp_str);
    for (int i = 0; i < count; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        regression_test(path, names[i]);
        free(names[i]);
    }
}

void run_bad_corpus_tests(const char *fixtures_dir) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/bad", fixtures_dir);
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    cJSON *manifest = read_json(path);
    const cJSON *files = cJSON_GetObjectItem(manifest, "files");
    if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) == 0) {
        test_result(0, "bad corpus manifest", "%s missing or without files (node tests/fixtures/bad/generate.mjs)", path);
    } else {
        int refused = 0;
        const cJSON *entry;
        cJSON_ArrayForEach(entry, files) {
            const char *expect = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "expect"));
            if (expect && strcmp(expect, "ok") == 0) continue;
            refused_file_test(dir, entry);
            refused++;
        }
        test_result(refused >= 30, "bad corpus has >= 30 refused files", "%d", refused);
    }
    cJSON_Delete(manifest);
    /* fuzz/regressions sits two levels above tests/fixtures */
    snprintf(dir, sizeof dir, "%s/../../fuzz/regressions", fixtures_dir);
    regression_tests(dir);
}
