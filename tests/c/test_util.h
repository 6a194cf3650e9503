/* Shared helpers of the native test runner (tests/c/): one line per test, a final
 * "N passed, N failed" line, file reading and fixture lookup. */
#ifndef IFC_TEST_UTIL_H
#define IFC_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "../../src/inforcoef.h"
#include "../../third_party/cjson/cJSON.h"

/* Record one test result and print "ok - NAME" or "FAIL - NAME: DETAIL". */
void test_result(int ok, const char *name, const char *detail_fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Whole file into memory (malloc'd); NULL if unreadable. */
uint8_t *read_file(const char *path, size_t *len);

/* Parse a JSON file; NULL if missing or invalid. Python's json.dump writes Infinity/-Infinity/NaN
 * for non-finite floats, which strict JSON (and cJSON) rejects: those tokens are mapped to
 * 1e999 / -1e999 (strtod gives +-inf) before parsing. */
cJSON *read_json(const char *path);

/* Suites */
void run_golden_tests(const char *fixtures_dir);
void run_api_tests(const char *fixtures_dir);
void run_malformed_tests(const char *fixtures_dir);

/* The fixture file used for API and malformed-buffer tests: <dir>/<name>.<dtype>.safetensors */
uint8_t *read_fixture_model(const char *dir, const char *name, const char *dtype, size_t *len);

#endif
