// FLOPs of a dense BERT encoder on n tokens, by the accounting of docs/model-format.md
// ("FLOPs accounting": 2 x multiply-adds of every matrix product; no samplers, every n_i = n).
// The runtime counts the compressed model itself; this counts the teacher it is compared with.
//
//   teacher: {layers, hidden, heads, headSize, ffn}; numLabels: classifier outputs.

export function denseTeacherFlops(teacher, n, numLabels) {
    const d = teacher.hidden, a = teacher.heads * teacher.headSize, f = teacher.ffn;
    const perLayer =
        2 * n * d * (3 * a) + // Q, K, V projections
        2 * n * n * a + 2 * n * n * a + // attention scores and context
        2 * n * a * d + // attention output projection
        2 * n * d * f + 2 * n * f * d; // FFN
    return teacher.layers * perLayer + 2 * d * d + 2 * d * numLabels; // + pooler and classifier
}
