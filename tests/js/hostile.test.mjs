// Hostile inputs: huge and malformed texts, files that are not models, truncated and corrupted
// models. Each must give a clear error (InforcoefError with a code, or TypeError/RangeError for
// API misuse) or a documented truncation, never a hang or a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { load, InforcoefError, readModelFile } from '../../web/index.js';
import { fixturePath, fixtureBytes, editedFixture, joinSafetensors, splitSafetensors } from './helpers.mjs';
import { EDGE_TEXTS, EDGE_PAIRS } from './tokenizer-cases.mjs';

const clfPromise = load(fixturePath('sampled'));
const MB10 = 10 * 1024 * 1024;

test('10 MB texts are cut to the model length (documented truncation), quickly', async () => {
    const clf = await clfPromise;
    const inputs = {
        words: 'the movie was good and the actors were fine '.repeat(Math.ceil(MB10 / 45)).slice(0, MB10),
        oneWord: 'x'.repeat(MB10), // one 10 MB word: one [UNK]
        cjk: '中'.repeat(MB10 / 2),
        controls: '\u0000'.repeat(MB10), // nothing left after cleaning
        spaces: ' '.repeat(MB10),
    };
    for (const [name, text] of Object.entries(inputs)) {
        const t0 = performance.now();
        const r = await clf.explain(text);
        const ms = performance.now() - t0;
        assert.ok(ms < 20000, `${name}: ${ms} ms`);
        assert.equal(r.tokens[0], '[CLS]');
        assert.equal(r.tokens[r.tokens.length - 1], '[SEP]');
        if (name === 'words' || name === 'cjk') { assert.equal(r.ids.length, clf.maxLength); assert.equal(r.truncated, true); }
        if (name === 'oneWord') assert.deepEqual(r.tokens, ['[CLS]', '[UNK]', '[SEP]']);
        if (name === 'controls' || name === 'spaces') assert.deepEqual(r.tokens, ['[CLS]', '[SEP]']);
    }
    // a pair needs both lengths (longest-first): the whole of both texts is tokenized, still linear
    const t0 = performance.now();
    const r = await clf.explain([inputs.words, inputs.words.slice(0, MB10 / 2)]);
    assert.ok(performance.now() - t0 < 30000);
    assert.equal(r.ids.length, clf.maxLength);
    const sep = r.tokens.indexOf('[SEP]');
    assert.equal(sep, 1 + Math.ceil((clf.maxLength - 3) / 2), 'the longer first text gets the odd token');
});

test('invalid UTF-16, empty and odd texts classify; lone surrogates are dropped like U+FFFD', async () => {
    const clf = await clfPromise;
    for (const text of [...EDGE_TEXTS, '\ud800', '\udc00\ud800', 'a\ud800b']) {
        const r = await clf(text, { topK: null });
        assert.equal(r.length, 2);
        assert.ok(r.every((x) => Number.isFinite(x.score)));
    }
    for (const pair of EDGE_PAIRS) assert.equal((await clf(pair)).length, 1);
    assert.deepEqual((await clf.explain('\ud800')).tokens, ['[CLS]', '[SEP]']);
    assert.deepEqual((await clf.explain('a\ud800b')).tokens, (await clf.explain('ab')).tokens);
    assert.deepEqual((await clf.explain('')).tokens, ['[CLS]', '[SEP]']);
    await assert.rejects(clf(undefined), TypeError);
    await assert.rejects(clf({ text: 5 }), TypeError);
});

test('bad token ids and lengths are refused by the runtime with a message', async () => {
    const clf = await clfPromise;
    assert.throws(() => clf.classifyIds([2, clf.config.vocab_size]), (e) => e instanceof InforcoefError && e.code === 'RUNTIME' && e.message.length > 30);
    assert.throws(() => clf.classifyIds([2, -1]), (e) => e.code === 'RUNTIME');
    assert.throws(() => clf.classifyIds([2, 3], [0, 7]), (e) => e.code === 'RUNTIME');
    assert.throws(() => clf.classifyIds([]), RangeError);
    assert.throws(() => clf.classifyIds(new Array(clf.maxLength + 1).fill(2)), RangeError);
    assert.throws(() => clf.classifyIds([2, 3], [0]), RangeError);
    assert.equal(clf.classifyIds([2, 3]).logits.length, 2); // and it still works afterwards
});

const notModels = {
    empty: new Uint8Array(0),
    text: new TextEncoder().encode('this is a plain text file, not a model at all\n'.repeat(20)),
    json: new TextEncoder().encode(JSON.stringify({ format: 'inforcoef', config: {} })),
    png: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]),
    wasm: new Uint8Array(fs.readFileSync(new URL('../../web/inforcoef.wasm', import.meta.url))),
    random: Uint8Array.from({ length: 4096 }, (_, i) => (i * 2654435761) >>> 24),
    headerNotJson: (() => { const b = new Uint8Array(8 + 10); b[0] = 10; b.set(new TextEncoder().encode('{not json}'), 8); return b; })(),
    headerArray: joinSafetensors([], new Uint8Array(0)),
};

test('files that are not safetensors: NOT_SAFETENSORS (or TRUNCATED when too short to tell)', async () => {
    for (const [name, bytes] of Object.entries(notModels)) {
        await assert.rejects(load(bytes), (e) => {
            assert.ok(e instanceof InforcoefError, `${name}: ${e}`);
            assert.ok(['NOT_SAFETENSORS', 'TRUNCATED'].includes(e.code), `${name}: ${e.code} ${e.message}`);
            assert.match(e.message, /safetensors/);
            return true;
        });
    }
});

test('a truncated model, cut anywhere: TRUNCATED, never a crash', async () => {
    const bytes = fixtureBytes('pruned', 'f16');
    const { header } = splitSafetensors(bytes);
    const headerEnd = bytes.length - (bytes.length - 8 - Number(new DataView(bytes.buffer).getBigUint64(0, true)));
    const cuts = new Set([1, 4, 7, 8, 9, 100, headerEnd - 1, headerEnd, headerEnd + 1, bytes.length - 1]);
    for (let c = 0; c < bytes.length; c += 997) cuts.add(c);
    assert.ok(Object.keys(header).length > 10);
    for (const cut of [...cuts].filter((c) => c > 0 && c < bytes.length)) {
        assert.throws(() => readModelFile(bytes.subarray(0, cut)), (e) => e instanceof InforcoefError && e.code === 'TRUNCATED', `cut at ${cut}`);
    }
    await assert.rejects(load(bytes.slice(0, bytes.length - 1)), (e) => e.code === 'TRUNCATED' && /truncated/.test(e.message));
    await assert.rejects(load(bytes.slice(0, headerEnd - 3)), (e) => e.code === 'TRUNCATED' && /header needs/.test(e.message));
});

test('safetensors that are not inforcoef models, or not this version: clear codes', async () => {
    const cases = [
        ['NOT_INFORCOEF', /without __metadata__/, (h) => { delete h.__metadata__; }],
        ['NOT_INFORCOEF', /"pt"/, (h) => { h.__metadata__.format = 'pt'; }],
        ['UNSUPPORTED_VERSION', /format_version 2/, (h, c) => { c.format_version = 2; }],
        ['UNSUPPORTED_VERSION', /format_version undefined/, (h, c) => { delete c.format_version; }],
        ['BAD_MODEL', /config is not JSON/, (h) => { h.__metadata__.config = '{broken'; }],
        ['BAD_MODEL', /vocabulary has/, (h) => { h.__metadata__.vocab += '\nextra'; }],
        ['BAD_MODEL', /hidden_size/, (h, c) => { c.hidden_size = 0; }],
        ['BAD_MODEL', /labels/, (h, c) => { c.labels = []; }],
        ['BAD_MODEL', /is missing/, (h) => { delete h['pooler.dense.bias']; }],
        ['BAD_MODEL', /not in the model-format table/, (h) => { h['extra.weight'] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] }; }],
        ['BAD_MODEL', /config implies/, (h, c) => { c.layers[0].ffn += 1; }],
        ['BAD_MODEL', /dtype "BF16"/, (h) => { h['pooler.dense.weight'].dtype = 'BF16'; }],
        ['NOT_SAFETENSORS', /overlap/, (h) => { const b = h['pooler.dense.bias']; h['pooler.dense.bias'] = { ...b, data_offsets: [b.data_offsets[0] - 4, b.data_offsets[1] - 4] }; }],
        ['NOT_SAFETENSORS', /do not hold shape/, (h) => { h['pooler.dense.bias'].shape = [1, 2, 3]; }],
        ['NOT_SAFETENSORS', /multiple of 4/, (h) => { const b = h['pooler.dense.bias']; h['pooler.dense.bias'] = { ...b, data_offsets: [b.data_offsets[0] + 2, b.data_offsets[1] + 2] }; }],
        ['BAD_MODEL', /special token/, (h, c) => { c.special_tokens = { cls: '<s>' }; }],
        // layer_norm_eps > 0 as a float32, as src/config.c and train/model_file.py
        ['BAD_MODEL', /layer_norm_eps must be a finite number > 0/, (h, c) => { c.layer_norm_eps = 0; }],
        ['BAD_MODEL', /layer_norm_eps must be a finite number > 0/, (h, c) => { c.layer_norm_eps = -1e-12; }],
        ['BAD_MODEL', /layer_norm_eps must be a finite number > 0/, (h, c) => { c.layer_norm_eps = 1e-50; }],
        ['BAD_MODEL', /layer_norm_eps must be a finite number > 0/, (h, c) => { c.layer_norm_eps = 2 ** -150; }], // rounds to 0 (tie to even)
        ['BAD_MODEL', /layer_norm_eps must be a finite number > 0/, (h, c) => { c.layer_norm_eps = '1e-12'; }],
    ];
    for (const [code, msg, edit] of cases) {
        const bytes = editedFixture(edit);
        await assert.rejects(load(bytes), (e) => {
            assert.ok(e instanceof InforcoefError, String(e));
            assert.equal(e.code, code, `${edit}: ${e.message}`);
            assert.match(e.message, msg);
            return true;
        });
    }
    // the smallest float32 > 0 is a valid eps
    for (const eps of [1.4e-45, 7.1e-46]) { // 7.1e-46 rounds up to 1.4e-45
        const tiny = await load(editedFixture((h, c) => { c.layer_norm_eps = eps; }));
        assert.ok((await tiny('a film')).every((s) => Number.isFinite(s.score)));
        tiny.dispose();
    }
    // I8 without its scale, a scale without its I8 tensor
    await assert.rejects(load(editedFixture((h) => { delete h['pooler.dense.weight_scale']; }, 'dense', 'i8')), (e) => e.code === 'BAD_MODEL' && /no pooler.dense.weight_scale/.test(e.message));
    await assert.rejects(load(editedFixture((h) => { h['pooler.dense.weight_scale'] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] }; }, 'dense', 'f32')), (e) => e.code === 'BAD_MODEL');
    // U8 (4-bit codes, two a byte) is for the embedding tables only, with a scale, in the packed shape
    const word = 'embeddings.word_embeddings.weight';
    await assert.rejects(load(editedFixture((h) => { h['pooler.dense.weight'].dtype = 'U8'; }, 'dense', 'i4')), (e) => e.code === 'BAD_MODEL' && /pooler.dense.weight is U8 \(packed 4-bit\), allowed for the embedding tables only/.test(e.message));
    await assert.rejects(load(editedFixture((h) => { delete h[word + '_scale']; }, 'dense', 'i4')), (e) => e.code === 'BAD_MODEL' && /U8 tensor embeddings.word_embeddings.weight has no/.test(e.message));
    await assert.rejects(load(editedFixture((h) => { const [v, half] = h[word].shape; h[word].shape = [v / 2, half * 2]; }, 'dense', 'i4')), (e) => e.code === 'BAD_MODEL' && /4-bit codes, two a byte/.test(e.message));
    await assert.rejects(load(editedFixture((h) => { h[word].dtype = 'I8'; }, 'dense', 'i4')), (e) => e.code === 'BAD_MODEL' && /the config implies \[120,32\]/.test(e.message));
});

test('a header length past 100 MB or over 2^32 is refused without allocating it', async () => {
    for (const n of [2n ** 40n, 100000001n, 2n ** 32n + 5n]) {
        const b = new Uint8Array(64);
        new DataView(b.buffer).setBigUint64(0, n, true);
        b[8] = 0x7b;
        await assert.rejects(load(b), (e) => e.code === 'NOT_SAFETENSORS' && /header length/.test(e.message));
    }
});

test('corrupt weights pass the checks but cannot crash the runtime', async () => {
    // flip every data byte: a valid container with garbage numbers (NaN/Inf in F32)
    const bytes = fixtureBytes('sampled', 'f32');
    const { header, data } = splitSafetensors(bytes);
    const bad = joinSafetensors(header, data.map((v) => v ^ 0xff));
    const clf = await load(bad);
    const r = await clf('still runs', { topK: null });
    assert.equal(r.length, 2); // scores may be NaN: garbage in, garbage out, but no crash or hang
    clf.dispose();
});
