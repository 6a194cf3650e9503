/* Overflow-checked size arithmetic: every size computed from file contents goes through these,
 * so a hostile header cannot wrap a product into a small allocation. Return 0 on overflow. */
#ifndef IFC_CHECKED_H
#define IFC_CHECKED_H

#include <stddef.h>
#include <stdint.h>

static inline int ck_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (a != 0 && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static inline int ck_add_u64(uint64_t a, uint64_t b, uint64_t *out) {
    if (b > UINT64_MAX - a) return 0;
    *out = a + b;
    return 1;
}

static inline int ck_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static inline int ck_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

static inline size_t round_up_size(size_t x, size_t m) { return (x + m - 1) / m * m; }

#endif
