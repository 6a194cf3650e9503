// Public API (web/index.js) on the golden fixtures: runtime outputs equal the reference's, and the
// classifier's input forms, options, explain(), dispose() and every kind of model source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { pathToFileURL } from 'node:url';
import { load, InforcoefError, BertTokenizer } from '../../web/index.js';
import { FIXTURE_NAMES, DTYPES, fixturePath, fixtureBytes, fixtureCases, maxAbsDiff } from './helpers.mjs';
import { EDGE_TEXTS } from './tokenizer-cases.mjs';

// Logit tolerances as tests/c/test_golden.c: I8 quantises activations too, the reference does not.
const TOL = { f32: 1e-4, f16: 1e-4, i8: 2e-3, i4: 2e-3 };

test('every fixture file gives the reference logits, kept rows and FLOPs', async () => {
    let cases = 0;
    for (const name of FIXTURE_NAMES) {
        const fx = fixtureCases(name);
        for (const dtype of DTYPES) {
            const clf = await load(fixturePath(name, dtype));
            for (const c of fx.cases) {
                const want = c.expected[dtype];
                const got = clf.classifyIds(c.ids, c.types, { threshold: c.threshold });
                const where = `${name}.${dtype} ${c.name}`;
                assert.ok(maxAbsDiff(got.logits, want.logits) < TOL[dtype], `${where}: logits ${Array.from(got.logits)} vs ${want.logits}`);
                assert.deepEqual(got.kept, want.kept, `${where}: kept`);
                assert.equal(got.flops, want.flops, `${where}: flops`);
                assert.ok(got.ms >= 0);
                cases++;
            }
            clf.dispose();
        }
    }
    assert.ok(cases >= 9 * 5);
});

test('input forms: text, pair, {text, pair}, batch, clf.batch; scores are a sorted softmax', async () => {
    const clf = await load(fixturePath('sampled'));
    assert.deepEqual(clf.labels, ['negative', 'positive']);
    const one = await clf('the movie was good');
    assert.equal(one.length, 1);
    assert.ok(clf.labels.includes(one[0].label));
    const all = await clf('the movie was good', { topK: null });
    assert.equal(all.length, 2);
    assert.ok(all[0].score >= all[1].score);
    assert.ok(Math.abs(all[0].score + all[1].score - 1) < 1e-9);
    assert.deepEqual(all[0], one[0]);
    assert.deepEqual(await clf('the movie was good', { topK: 0 }), all);

    // a pair is the same as the explicit {text, pair} and differs from the two texts alone
    const pair = await clf(['a man sleeps', 'a person rests'], { topK: null });
    assert.deepEqual(await clf({ text: 'a man sleeps', pair: 'a person rests' }, { topK: null }), pair);
    const e = await clf.explain(['a man sleeps', 'a person rests']);
    assert.ok(e.types.includes(1), 'second segment has token type 1');
    assert.deepEqual(e.labels, pair);

    const batch = await clf(['good', ['a', 'b'], { text: 'bad' }, 'fine'], { topK: null });
    assert.equal(batch.length, 4);
    assert.deepEqual(batch[0], await clf('good', { topK: null }));
    assert.deepEqual(batch[1], await clf(['a', 'b'], { topK: null }));
    const two = await clf.batch(['good', 'bad'], { topK: null });
    assert.deepEqual(two, [await clf('good', { topK: null }), await clf('bad', { topK: null })]);
    assert.deepEqual(await clf([]), []);

    await assert.rejects(clf(42), TypeError);
    await assert.rejects(clf(null), TypeError);
    await assert.rejects(clf(['a', 'b', 3]), TypeError);
    await assert.rejects(clf('x', { topK: -1 }), RangeError);
    await assert.rejects(clf('x', { threshold: 'high' }), TypeError);
    clf.dispose();
});

test('threshold: per call, per classifier, -Infinity keeps every token, larger drops more', async () => {
    const clf = await load(fixturePath('sampled'), { threshold: -Infinity });
    assert.equal(clf.threshold, -Infinity);
    assert.equal(clf.fileThreshold, 0.5);
    const text = 'the film is fine and the actors are good but the story is thin';
    const all = await clf.explain(text);
    assert.ok(all.layers.every((l) => l.kept === all.ids.length), 'nothing dropped at -Infinity');
    assert.equal(all.flops, all.denseFlops);
    const t = [-2, 0, 2, 6].map((th) => clf.explain(text, { threshold: th }));
    const kept = (await Promise.all(t)).map((r) => r.layers[r.layers.length - 1].kept);
    for (let i = 1; i < kept.length; i++) assert.ok(kept[i] <= kept[i - 1], `kept ${kept}`);
    clf.threshold = null; // back to the file's
    assert.equal(clf.threshold, 0.5);
    clf.threshold = 3;
    assert.equal((await clf.explain(text)).threshold, 3);
    clf.dispose();
});

test('explain: tokens, kept rows per layer, FLOPs, time', async () => {
    const clf = await load(fixturePath('sampled'));
    const r = await clf.explain('Hello, world! The THE the');
    assert.equal(r.tokens[0], '[CLS]');
    assert.equal(r.tokens[r.tokens.length - 1], '[SEP]');
    assert.deepEqual(r.tokens, clf.tokenizer.decodeIds(r.ids));
    assert.equal(r.layers.length, clf.numLayers);
    assert.equal(r.layers[0].kept, r.ids.length); // layer 0 has no sampler in this fixture
    for (let i = 1; i < r.layers.length; i++) assert.ok(r.layers[i].kept <= r.layers[i - 1].kept && r.layers[i].kept >= 1);
    // which tokens survive: positions ascending from [CLS], each layer a subset of the one before
    assert.ok(clf.keptPositions, 'this runtime build reports kept positions');
    let prev = r.ids.map((_, i) => i);
    for (const l of r.layers) {
        assert.equal(l.positions.length, l.kept);
        assert.equal(l.positions[0], 0);
        for (let i = 1; i < l.positions.length; i++) assert.ok(l.positions[i] > l.positions[i - 1]);
        assert.ok(l.positions.every((p) => prev.includes(p)));
        assert.deepEqual(l.tokens, l.positions.map((p) => r.tokens[p]));
        prev = l.positions;
    }
    assert.ok(r.flops > 0 && r.flops <= r.denseFlops);
    assert.equal(r.denseFlops, clf.denseFlops(r.ids.length));
    assert.ok(r.ms >= 0);
    assert.equal(r.labels.length, 2);
    assert.equal(r.truncated, false);
    await assert.rejects(clf.explain(['a', 'b', 'c']), TypeError);
    const long = await clf.explain('word '.repeat(500));
    assert.equal(long.truncated, true);
    assert.equal(long.ids.length, clf.maxLength);
    clf.dispose();
});

test('dispose: later calls fail clearly; dispose twice is fine', async () => {
    const clf = await load(fixturePath('dense'));
    await clf('ok');
    clf.dispose();
    clf.dispose();
    assert.equal(clf.disposed, true);
    await assert.rejects(clf('again'), (e) => e instanceof InforcoefError && e.code === 'DISPOSED');
    assert.throws(() => clf.classifyIds([2, 3]), (e) => e.code === 'DISPOSED');
});

test('sources: path, file URL, ArrayBuffer, Uint8Array view, Blob, http URL with progress', async () => {
    const bytes = fixtureBytes('pruned', 'i8');
    const want = await (await load(fixturePath('pruned', 'i8')))('a test', { topK: null });
    const same = async (source, options) => {
        const clf = await load(source, options);
        assert.deepEqual(await clf('a test', { topK: null }), want);
        clf.dispose();
    };
    await same(pathToFileURL(fixturePath('pruned', 'i8')));
    await same(pathToFileURL(fixturePath('pruned', 'i8')).href);
    await same(bytes.slice().buffer);
    const padded = new Uint8Array(bytes.length + 7); // an unaligned view into a larger buffer
    padded.set(bytes, 3);
    await same(padded.subarray(3, 3 + bytes.length));
    await same(new Blob([bytes]));

    const server = http.createServer((req, res) => {
        if (req.url === '/model.safetensors') {
            res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
            // in pieces, so that progress has steps
            let i = 0;
            const step = () => { if (i >= bytes.length) return res.end(); res.write(bytes.subarray(i, i + 4096)); i += 4096; setImmediate(step); };
            step();
        } else { res.writeHead(404); res.end(); }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${server.address().port}`;
    try {
        const events = [];
        await same(`${base}/model.safetensors`, { onProgress: (p) => events.push(p) });
        assert.ok(events.length >= 3, `progress events: ${events.length}`);
        assert.deepEqual(events[events.length - 1], { loaded: bytes.length, total: bytes.length });
        for (let i = 1; i < events.length; i++) assert.ok(events[i].loaded >= events[i - 1].loaded);
        await assert.rejects(load(`${base}/missing.safetensors`), (e) => e.code === 'IO' && /404/.test(e.message));
    } finally {
        server.close();
    }
    await assert.rejects(load('/nonexistent/model.safetensors'), (e) => e.code === 'IO' && /no such file/.test(e.message));
    await assert.rejects(load(12345), TypeError);
});

test('wasm option: a compiled module or bytes; a missing wasm file is a clear error', async () => {
    const wasmBytes = fs.readFileSync(new URL('../../web/inforcoef.wasm', import.meta.url));
    const clf = await load(fixturePath('dense'), { wasm: await WebAssembly.compile(wasmBytes) });
    await clf('x');
    clf.dispose();
    const clf2 = await load(fixturePath('dense'), { wasm: wasmBytes });
    clf2.dispose();
    await assert.rejects(load(fixturePath('dense'), { wasm: new URL('file:///nonexistent/inforcoef.wasm') }), (e) => e.code === 'IO' && /build\.sh/.test(e.message));
});

test('models are independent: two loaded at once, each its own threshold', async () => {
    const a = await load(fixturePath('sampled'), { threshold: -Infinity });
    const b = await load(fixturePath('sampled'), { threshold: 10 });
    const text = 'one two three four five six seven';
    const ra = await a.explain(text), rb = await b.explain(text);
    assert.equal(ra.layers[2].kept, ra.ids.length);
    assert.ok(rb.layers[2].kept < rb.ids.length);
    a.dispose();
    assert.ok((await b('still works')).length === 1);
    b.dispose();
});

test('tokenizer exported on its own, vocabulary from the model file', async () => {
    const clf = await load(fixturePath('dense'));
    assert.ok(clf.tokenizer instanceof BertTokenizer);
    assert.equal(clf.tokenizer.vocab.length, clf.config.vocab_size);
    clf.dispose();
});

test("the runtime's vocabulary index (ifc_token_id) tokenises as a Map of the vocabulary does", async () => {
    // load() looks WordPieces up in the runtime; a tokenizer built on the same vocabulary uses its own Map.
    const clf = await load(new URL('../../models/sst2.safetensors', import.meta.url));
    const vocab = clf.tokenizer.vocab;
    const own = new BertTokenizer(vocab, { doLowerCase: clf.config.do_lower_case, maxLength: clf.maxLength });
    assert.notEqual(clf.tokenizer.lookup, own.lookup);
    const last = new Map(vocab.map((t, i) => [t, i]));
    for (const [t, i] of last) assert.equal(clf.tokenizer.lookup(t), i, t);
    for (const t of ['', 'thee' + 'e'.repeat(300), '##', 'ÿ', '\u{1F600}', 'the\nof', '[cls]']) {
        assert.equal(clf.tokenizer.lookup(t), own.lookup(t), JSON.stringify(t));
    }
    const dev = fs.readFileSync(new URL('../../../shared/data/glue/SST-2/dev.tsv', import.meta.url), 'utf8')
        .split('\n').slice(1, 301).map((l) => l.split('\t')[0]);
    for (const text of [...dev, ...EDGE_TEXTS, 'naïve café Ünïcödé straße ﬁ 𝐀 日本語 😀 ' + 'x'.repeat(150)]) {
        assert.deepEqual(clf.tokenizer.encode(text), own.encode(text), JSON.stringify(text).slice(0, 80));
    }
    clf.dispose();
    assert.throws(() => clf.tokenizer.encode('a new word, never seen: zyzzyva'), (e) => e.code === 'DISPOSED');
});
