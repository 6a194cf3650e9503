/* Wall clock in milliseconds, for ifc_stat_ms. Native: CLOCK_MONOTONIC. WebAssembly: the host
 * passes its own clock as the import env.ifc_now_ms (performance.now in JavaScript), so the
 * module needs no WASI clock import. */
#if !defined(__wasm__)
#define _POSIX_C_SOURCE 199309L
#include <time.h>
#endif

#include "ifc_internal.h"

#if defined(__wasm__)
extern double ifc_now_ms(void) __attribute__((import_module("env"), import_name("ifc_now_ms")));
double ifc_clock_ms(void) { return ifc_now_ms(); }
#else
double ifc_clock_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}
#endif
