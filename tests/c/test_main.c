/* Native test runner: build/native/test_runtime <fixtures dir>.
 * Runs the golden fixtures (every case, every dtype), API argument checks and malformed model
 * buffers; prints one line per test and ends with "N passed, N failed" (exit 1 on any failure). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static int passed, failed;

void test_result(int ok, const char *name, const char *detail_fmt, ...) {
    if (ok) {
        passed++;
        printf("ok - %s", name);
    } else {
        failed++;
        printf("FAIL - %s", name);
    }
    if (detail_fmt && *detail_fmt) {
        va_list ap;
        va_start(ap, detail_fmt);
        printf(": ");
        vprintf(detail_fmt, ap);
        va_end(ap);
    }
    printf("\n");
    fflush(stdout);
}

uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    uint8_t *buf = malloc((size_t)size + 1);
    if (!buf) { fclose(f); return NULL; }
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) { free(buf); return NULL; }
    buf[size] = 0;
    *len = (size_t)size;
    return buf;
}

cJSON *read_json(const char *path) {
    size_t len;
    uint8_t *raw = read_file(path, &len);
    if (!raw) return NULL;
    /* worst case every byte grows: "NaN" (3) -> "0" never grows; "Infinity" (8) -> "1e999" (5) */
    char *text = malloc(len + 1), *o = text;
    if (!text) { free(raw); return NULL; }
    for (size_t i = 0; i < len;) {
        if (len - i >= 8 && memcmp(raw + i, "Infinity", 8) == 0) { memcpy(o, "1e999", 5); o += 5; i += 8; }
        else if (len - i >= 3 && memcmp(raw + i, "NaN", 3) == 0) { *o++ = '0'; i += 3; }
        else *o++ = (char)raw[i++];
    }
    *o = 0;
    free(raw);
    cJSON *j = cJSON_Parse(text);
    free(text);
    return j;
}

uint8_t *read_fixture_model(const char *dir, const char *name, const char *dtype, size_t *len) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.%s.safetensors", dir, name, dtype);
    return read_file(path, len);
}

/* tests/c/test_bad_corpus.c, tests/c/test_numerics.c */
void run_bad_corpus_tests(const char *fixtures_dir);
void run_numerics_tests(const char *fixtures_dir);

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "tests/fixtures";
    run_golden_tests(dir);
    run_api_tests(dir);
    run_malformed_tests(dir);
    run_bad_corpus_tests(dir);
    run_numerics_tests(dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
