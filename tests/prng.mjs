// mulberry32: a small deterministic PRNG, uniform in [0, 1). Shared by the test generators,
// the hostile-text tests and the soak script so their streams are reproducible from a seed.
export function prng(seed) {
    return () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
