// FLOPs of a dense BERT encoder on n tokens, by the accounting of docs/model-format.md
// ("FLOPs accounting": 2 x multiply-adds of every matrix product; no samplers, every n_i = n).
// The runtime counts the compressed model itself; this counts the teacher it is compared with,
// read from the model file's optional config key `teacher` (docs/model-format.md, "config"):
//
//   teacher: {hidden_size, head_size, layers: [{heads, ffn}, ...]}; numLabels: classifier outputs.

// The config's `teacher`, or null when the file has none or a malformed one (the key is
// informational: the model runs without it, the page then shows no teacher comparison).
export function teacherOf(config) {
    const t = config && config.teacher;
    const count = (v, min) => Number.isSafeInteger(v) && v >= min;
    if (t === null || typeof t !== 'object' || !count(t.hidden_size, 1) || !count(t.head_size, 1) || !Array.isArray(t.layers)) return null;
    if (!t.layers.every((l) => l !== null && typeof l === 'object' && count(l.heads, 0) && count(l.ffn, 0))) return null;
    return { hidden_size: t.hidden_size, head_size: t.head_size, layers: t.layers.map(({ heads, ffn }) => ({ heads, ffn })) };
}

export function denseTeacherFlops(teacher, n, numLabels) {
    const d = teacher.hidden_size;
    let total = 2 * d * d + 2 * d * numLabels; // pooler and classifier
    for (const { heads, ffn: f } of teacher.layers) {
        const a = heads * teacher.head_size;
        if (heads > 0) {
            total += 2 * n * d * (3 * a) + // Q, K, V projections
                2 * n * n * a + 2 * n * n * a + // attention scores and context
                2 * n * a * d; // attention output projection
        }
        if (f > 0) total += 2 * n * d * f + 2 * n * f * d; // FFN
    }
    return total;
}
