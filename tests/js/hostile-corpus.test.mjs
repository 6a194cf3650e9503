// The hostile model corpus tests/fixtures/bad/ (manifest.json, written by generate.mjs there) through
// the WebAssembly build:
//   - raw wasm (web/wasm.js, one instance for every file): each refused file gives the status class
//     (IFC_ERR_FORMAT / IFC_ERR_MODEL) and the message substring the native runner checks
//     (tests/c/test_bad_corpus.c), and the instance still loads and runs a good model afterwards;
//   - load() (web/index.js): each refused file rejects with an InforcoefError of the manifest's code;
//   - the degenerate-but-valid files: loaded by the raw wasm, every listed case classifies with
//     finite logits (where the manifest says so) and the listed kept rows, threshold NaN reads as
//     -inf; through load(), scores stay finite and sum to 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { load, InforcoefError } from '../../web/index.js';
import { instantiateRuntime } from '../../web/wasm.js';

const DIR = new URL('../fixtures/bad/', import.meta.url);
const manifest = JSON.parse(fs.readFileSync(new URL('manifest.json', DIR), 'utf8'));
const bytesOf = (e) => new Uint8Array(fs.readFileSync(new URL(e.file, DIR)));
const STATUS = { format: 2, model: 3 };
const refusedEntries = manifest.files.filter((e) => e.expect !== 'ok');
const okEntries = manifest.files.filter((e) => e.expect === 'ok');

const thresholdOf = (t, fileDefault) =>
    t === null ? fileDefault : t === 'inf' ? Infinity : t === '-inf' ? -Infinity : t === 'nan' ? NaN : t;

// A minimal raw client of the module: load bytes, classify ids, free.
async function rawRuntime() {
    const rt = await instantiateRuntime();
    const x = rt.x;
    return {
        rt,
        load(bytes) {
            const p = rt.malloc(Math.max(bytes.length, 1));
            rt.u8(p, bytes.length).set(bytes);
            const out = rt.malloc(4);
            const status = x.ifc_model_load(p, bytes.length, out);
            const handle = rt.u32At(out);
            rt.free(out);
            rt.free(p);
            return { status, handle, error: rt.lastError() };
        },
        classify(handle, ids, threshold) {
            const n = ids.length, L = x.ifc_num_labels(handle);
            const pIds = rt.malloc(4 * n), pTypes = rt.malloc(4 * n), pOut = rt.malloc(4 * L);
            rt.i32(pIds, n).set(ids);
            rt.i32(pTypes, n).fill(0);
            x.ifc_set_threshold(handle, threshold);
            const status = x.ifc_classify(handle, pIds, pTypes, n, pOut);
            const logits = Array.from(rt.f32(pOut, L));
            const kept = Array.from({ length: x.ifc_num_layers(handle) }, (_, i) => x.ifc_stat_kept(handle, i));
            rt.free(pIds); rt.free(pTypes); rt.free(pOut);
            return { status, logits, kept, error: rt.lastError() };
        },
    };
}

test('the corpus manifest lists >= 30 refused files and the degenerate models, all present', () => {
    assert.ok(refusedEntries.length >= 30, `${refusedEntries.length} refused files`);
    assert.ok(okEntries.length >= 5);
    for (const e of manifest.files) assert.ok(fs.existsSync(new URL(e.file, DIR)), e.file);
});

test('raw wasm: every refused file gives the native status class and message, the instance stays usable', async () => {
    const w = await rawRuntime();
    const memBefore = w.rt.buffer.byteLength;
    for (const e of refusedEntries) {
        const { status, handle, error } = w.load(bytesOf(e));
        assert.equal(status, STATUS[e.expect], `${e.file}: status ${status} "${error}"`);
        assert.equal(handle, 0, `${e.file}: a handle was returned`);
        assert.ok(error.includes(e.error), `${e.file}: "${error}" lacks "${e.error}"`);
    }
    // every refusal freed what it allocated: the heap did not grow, and a good model still runs
    assert.equal(w.rt.buffer.byteLength, memBefore);
    const good = w.load(bytesOf(okEntries.find((e) => e.file === 'good.safetensors')));
    assert.equal(good.status, 0, good.error);
    const r = w.classify(good.handle, [2, 5, 8, 3], 0);
    assert.equal(r.status, 0, r.error);
    assert.ok(r.logits.every(Number.isFinite));
    w.rt.x.ifc_model_free(good.handle);
});

test('load(): every refused file rejects with the manifest InforcoefError code', async () => {
    for (const e of refusedEntries) {
        await assert.rejects(load(bytesOf(e)), (err) => {
            assert.ok(err instanceof InforcoefError, `${e.file}: ${err}`);
            assert.equal(err.code, e.js, `${e.file}: ${err.code} ${err.message}`);
            assert.ok(err.message.length > 20, `${e.file}: terse message "${err.message}"`);
            return true;
        });
    }
});

test('raw wasm: degenerate models classify every case with finite logits and the listed kept rows', async () => {
    const w = await rawRuntime();
    for (const e of okEntries) {
        const { status, handle, error } = w.load(bytesOf(e));
        assert.equal(status, 0, `${e.file}: ${error}`);
        const fileThreshold = w.rt.x.ifc_get_threshold(handle);
        e.cases.forEach((c, k) => {
            const r = w.classify(handle, c.ids, thresholdOf(c.threshold, fileThreshold));
            assert.equal(r.status, 0, `${e.file} case ${k}: ${r.error}`);
            if (e.finite) assert.ok(r.logits.every(Number.isFinite), `${e.file} case ${k}: logits ${r.logits}`);
            if (c.kept) assert.deepEqual(r.kept, c.kept, `${e.file} case ${k}`);
            // the same input again gives the same bits (the arena is reused, nothing stale leaks in)
            assert.deepEqual(w.classify(handle, c.ids, thresholdOf(c.threshold, fileThreshold)).logits, r.logits);
        });
        w.rt.x.ifc_set_threshold(handle, NaN);
        assert.equal(w.rt.x.ifc_get_threshold(handle), -Infinity, 'threshold NaN reads as -inf');
        w.rt.x.ifc_model_free(handle);
    }
});

test('load(): degenerate models give finite scores that sum to 1 (or the documented refusal)', async () => {
    for (const e of okEntries) {
        if (e.js) { // a file the spec allows but web/model-file.js refuses (see the entry's note)
            await assert.rejects(load(bytesOf(e)), (err) => err instanceof InforcoefError && err.code === e.js);
            continue;
        }
        const clf = await load(bytesOf(e));
        for (const text of ['the good film', '', 'bad bad bad bad bad bad bad bad bad bad']) {
            for (const threshold of [undefined, -Infinity, Infinity, 1e30]) {
                const scores = await clf(text, { topK: null, threshold });
                assert.equal(scores.length, clf.numLabels);
                if (!e.finite) continue; // NaN weights: NaN scores are the documented outcome
                assert.ok(scores.every((s) => Number.isFinite(s.score)), `${e.file} "${text}" ${threshold}: ${JSON.stringify(scores)}`);
                assert.ok(Math.abs(scores.reduce((a, s) => a + s.score, 0) - 1) < 1e-6);
            }
        }
        await assert.rejects(clf('x', { threshold: NaN }), TypeError); // the JS API refuses a NaN threshold
        clf.dispose();
    }
});
