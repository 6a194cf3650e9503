/* Wrappers for JavaScript: WebAssembly exports cannot hand a uint64 to JavaScript as a Number
 * (it arrives as a BigInt), so the FLOPs counters are also exported as doubles, which are exact
 * below 2^53 (far above any model this runtime accepts). */
#include "inforcoef.h"

double ifc_stat_flops_f64(const ifc_model *m);
double ifc_dense_flops_f64(const ifc_model *m, int n);

double ifc_stat_flops_f64(const ifc_model *m) { return (double)ifc_stat_flops(m); }
double ifc_dense_flops_f64(const ifc_model *m, int n) { return (double)ifc_dense_flops(m, n); }
