// A small model file cannot make the runtime plan a large working memory (docs/model-format.md,
// "Working memory"): the arena is planned at load for max_position rows and grows with
// max_position x (hidden, ffn, attention width, max_position), all of which a file can set high at
// little cost (hidden 1 makes every weight matrix thin). The runtime refuses a plan over 64 MiB +
// 16 x the file's size, and max_position over 4096. Each file below is valid apart from that, with
// zero F32 weights; each is loaded into a fresh wasm instance (wasm memory never shrinks), and the
// memory the instance grew by must stay within 64 MiB + 16 x the file size for the arena, plus the
// file's copy and its repacked weights (thin matrices are padded to the GEMM panel width: at most
// 8 floats per weight element here). Refusals must name the working memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { instantiateRuntime } from '../../web/wasm.js';
import { load, InforcoefError } from '../../web/index.js';
import { joinSafetensors } from './helpers.mjs';

const MiB = 1 << 20;
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a'];

// A model file of zero F32 weights for a config (the spec's tensor table), 8-byte aligned tensors.
function zeroModel({ hidden: d, headSize, heads, ffn, maxPosition: P }) {
    const config = {
        format_version: 1, hidden_size: d, head_size: headSize, max_position: P, type_vocab_size: 1,
        vocab_size: VOCAB.length, layer_norm_eps: 1e-12, do_lower_case: true, labels: ['a', 'b'],
        keep_threshold: 0, layers: [{ heads, ffn, sampler: false }],
    };
    const a = heads * headSize, shapes = [
        ['embeddings.word_embeddings.weight', [VOCAB.length, d]], ['embeddings.position_embeddings.weight', [P, d]],
        ['embeddings.token_type_embeddings.weight', [1, d]], ['embeddings.LayerNorm.weight', [d]], ['embeddings.LayerNorm.bias', [d]],
    ];
    const p = 'encoder.layer.0.';
    if (heads > 0) {
        for (const x of ['query', 'key', 'value']) shapes.push([p + `attention.self.${x}.weight`, [a, d]], [p + `attention.self.${x}.bias`, [a]]);
        shapes.push([p + 'attention.output.dense.weight', [d, a]], [p + 'attention.output.dense.bias', [d]],
            [p + 'attention.output.LayerNorm.weight', [d]], [p + 'attention.output.LayerNorm.bias', [d]]);
    }
    if (ffn > 0) {
        shapes.push([p + 'intermediate.dense.weight', [ffn, d]], [p + 'intermediate.dense.bias', [ffn]],
            [p + 'output.dense.weight', [d, ffn]], [p + 'output.dense.bias', [d]],
            [p + 'output.LayerNorm.weight', [d]], [p + 'output.LayerNorm.bias', [d]]);
    }
    shapes.push(['pooler.dense.weight', [d, d]], ['pooler.dense.bias', [d]], ['classifier.weight', [2, d]], ['classifier.bias', [2]]);
    const header = { __metadata__: { format: 'inforcoef', config: JSON.stringify(config), vocab: VOCAB.join('\n') } };
    let at = 0, elements = 0;
    for (const [name, shape] of shapes) {
        const n = shape.reduce((x, v) => x * v, 1);
        header[name] = { dtype: 'F32', shape, data_offsets: [at, at + 4 * n] };
        at = Math.ceil((at + 4 * n) / 8) * 8;
        elements += n;
    }
    return { bytes: joinSafetensors(header, new Uint8Array(at)), elements };
}

// Small files that ask for a lot: thin (hidden 1) models at long max_position, wide attention or FFN.
const SHAPES = [];
for (const maxPosition of [512, 2048, 4096]) {
    for (const [heads, headSize] of [[0, 1], [1, 1], [8, 8], [64, 64]]) {
        for (const ffn of [0, 1024, 16384, 65536]) SHAPES.push({ hidden: 1, headSize, heads, ffn, maxPosition });
    }
}

test('working memory: a small hostile file loads within 64 MiB + 16 x its size (plus its weights) or is refused, naming it', async () => {
    let refused = 0, loaded = 0, worst = 0;
    for (const shape of SHAPES) {
        const { bytes, elements } = zeroModel(shape);
        const rt = await instantiateRuntime();
        const x = rt.x;
        const p = rt.malloc(bytes.length);
        rt.u8(p, bytes.length).set(bytes);
        const out = rt.malloc(4);
        const before = rt.buffer.byteLength;
        const status = x.ifc_model_load(p, bytes.length, out);
        const grew = rt.buffer.byteLength - before;
        const what = `${JSON.stringify(shape)} (${bytes.length} bytes): status ${status} "${rt.lastError()}", grew ${(grew / MiB).toFixed(1)} MiB`;
        const allowed = 64 * MiB + 16 * bytes.length + 8 * 4 * elements + 2 * MiB; // arena budget + repacked weights + slack
        assert.ok(bytes.length < 1.1 * MiB, what);
        assert.ok(grew <= allowed, `${what}: more than ${(allowed / MiB).toFixed(1)} MiB`);
        if (status === 0) {
            loaded++;
            worst = Math.max(worst, grew);
            const h = rt.u32At(out);
            assert.equal(x.ifc_max_length(h), shape.maxPosition);
            x.ifc_model_free(h);
        } else {
            refused++;
            assert.equal(status, 3, what);
            assert.match(rt.lastError(), /working memory .* exceeds/, what);
        }
    }
    // both outcomes occur: the grid straddles the budget
    assert.ok(refused >= 10 && loaded >= 10, `${refused} refused, ${loaded} loaded`);
    console.log(`working memory: ${refused} refused, ${loaded} loaded, largest growth of a loaded file ${(worst / MiB).toFixed(1)} MiB`);
    assert.ok(worst <= 80 * MiB, `largest growth of a loaded file ${(worst / MiB).toFixed(1)} MiB`);
});

test('working memory: load() refuses an over-budget file with BAD_MODEL, and max_position 4097 before the runtime sees it', async () => {
    const big = zeroModel({ hidden: 1, headSize: 8, heads: 8, ffn: 16384, maxPosition: 4096 }).bytes;
    await assert.rejects(load(big), (e) => e instanceof InforcoefError && e.code === 'BAD_MODEL' && /working memory/.test(e.message));
    const long = zeroModel({ hidden: 1, headSize: 1, heads: 1, ffn: 0, maxPosition: 4097 }).bytes;
    await assert.rejects(load(long), (e) => e instanceof InforcoefError && e.code === 'BAD_MODEL' && /max_position must be at most 4096/.test(e.message));
    // the same model at 512 positions loads and classifies
    const ok = await load(zeroModel({ hidden: 1, headSize: 8, heads: 8, ffn: 1024, maxPosition: 512 }).bytes);
    assert.equal((await ok('a a a', { topK: null })).length, 2);
    ok.dispose();
});
