/* libFuzzer target, structure-aware: the input drives fuzz/model_gen.h, which writes a *valid*
 * model of random shape, dtypes and weights, loads it and checks the properties listed there
 * (loads; structural invariants; FLOPs formula; determinism; finite logits from bounded weights;
 * threshold NaN = -inf). Random bytes rarely survive the loader's checks, so fuzz_load.c mostly
 * explores the refusal paths; this target explores the forward pass over odd shapes (GEMM tails,
 * heads of size 1, empty layers, samplers on length-1 inputs) and hostile weight values. */
#include "model_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *why = mg_check(data, size);
    if (why) {
        fprintf(stderr, "fuzz_model: property violated: %s\n", why);
        abort();
    }
    return 0;
}
