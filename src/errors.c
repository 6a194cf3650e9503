/* Error reporting: every failing entry point returns an ifc_status and leaves a message here.
 * The message buffer is per thread natively (two threads may load models at once); the wasm
 * build has no threads, so a plain static is used there. */
#include <stdarg.h>
#include <stdio.h>

#include "ifc_internal.h"

#if defined(__wasm__) || defined(__STDC_NO_THREADS__)
#define IFC_THREAD_LOCAL
#else
#define IFC_THREAD_LOCAL _Thread_local
#endif

static IFC_THREAD_LOCAL char last_error[512];

const char *ifc_last_error(void) { return last_error; }

void ifc_clear_error(void) { last_error[0] = '\0'; }

ifc_status ifc_fail(ifc_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}
