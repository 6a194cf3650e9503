// Tokenizer agreement with Hugging Face `tokenizers` (tests/js/reference-tokenizer.mjs): identical ids
// and token types on every sentence of SST-2 dev, MRPC dev and RTE dev (as pairs and one by one), the
// first 2,000 IMDb test reviews, the hand-made edge cases, every code point on its own, and a grid of
// pair lengths for truncation. Vocabulary: bert-base-uncased (../shared/data/vocab).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { BertTokenizer } from '../../web/tokenizer.js';
import { parseDataset } from '../../web/datasets.js';
import { referenceTokenizer } from './reference-tokenizer.mjs';
import { EDGE_TEXTS, EDGE_PAIRS, words } from './tokenizer-cases.mjs';

const DATA = new URL('../../../shared/data/', import.meta.url);
const vocab = fs.readFileSync(new URL('vocab/bert-base-uncased-vocab.txt', DATA), 'utf8').split('\n');
if (vocab[vocab.length - 1] === '') vocab.pop();

function readData(path, limit = Infinity) {
    let buf = fs.readFileSync(new URL(path, DATA));
    if (path.endsWith('.gz')) buf = zlib.gunzipSync(buf);
    const d = parseDataset(buf.toString('utf8'));
    d.examples = d.examples.slice(0, limit);
    return d;
}
const sst2 = readData('glue/SST-2/dev.tsv');
const mrpc = readData('glue/MRPC/dev.tsv');
const rte = readData('glue/RTE/dev.tsv');
const imdb = readData('imdb/test.tsv.gz', 2000);

// Compares our encodings of `inputs` (strings or [a, b] pairs) with the reference's; returns the
// number compared and fails on the first difference with both id lists in the message.
async function compare(ours, ref, inputs, maxLength) {
    // encodeBatch takes single texts only in this binding; pairs go through encode(a, b)
    const encs = inputs.some(Array.isArray)
        ? await Promise.all(inputs.map((x) => (Array.isArray(x) ? ref.encode(x[0], x[1]) : ref.encode(x, null))))
        : await ref.encodeBatch(inputs);
    for (let i = 0; i < inputs.length; i++) {
        const [a, b] = Array.isArray(inputs[i]) ? inputs[i] : [inputs[i], null];
        const got = ours.encode(a, b, { maxLength });
        const want = encs[i];
        const wantIds = want.getIds(), wantTypes = want.getTypeIds();
        if (got.ids.length !== wantIds.length || got.ids.some((v, k) => v !== wantIds[k]) || got.types.some((v, k) => v !== wantTypes[k])) {
            assert.fail(`input ${i} ${JSON.stringify(inputs[i]).slice(0, 300)}\n reference ${JSON.stringify(want.getTokens())}\n ours      ${JSON.stringify(ours.decodeIds(got.ids))}`);
        }
    }
    return inputs.length;
}

function setup(lowercase, maxLength) {
    const ref = referenceTokenizer(vocab, { lowercase });
    if (Number.isFinite(maxLength)) ref.setTruncation(maxLength, { strategy: 'LongestFirst' });
    const ours = new BertTokenizer(vocab, { doLowerCase: lowercase, maxLength });
    return { ours, ref };
}

const singles = (d) => d.examples.map((e) => e.a);
const pairs = (d) => d.examples.map((e) => [e.a, e.b]);
const halves = (d) => d.examples.flatMap((e) => [e.a, e.b]);

test('agrees on GLUE dev sets and 2,000 IMDb reviews, untruncated', async (t) => {
    const { ours, ref } = setup(true, Infinity);
    let n = 0;
    n += await compare(ours, ref, singles(sst2));
    n += await compare(ours, ref, pairs(mrpc)) + await compare(ours, ref, halves(mrpc));
    n += await compare(ours, ref, pairs(rte)) + await compare(ours, ref, halves(rte));
    n += await compare(ours, ref, singles(imdb));
    assert.equal(n, 872 + 408 * 3 + 277 * 3 + 2000);
    t.diagnostic(`untruncated: ${n} inputs identical`);
});

test('agrees with truncation at 512 and 128 (longest-first for pairs)', async (t) => {
    for (const maxLength of [512, 128]) {
        const { ours, ref } = setup(true, maxLength);
        let n = await compare(ours, ref, singles(imdb), maxLength);
        n += await compare(ours, ref, pairs(rte), maxLength) + await compare(ours, ref, pairs(mrpc), maxLength);
        // IMDb reviews as pairs: both halves long, so both get cut
        const imdbPairs = [];
        for (let i = 0; i + 1 < 400; i += 2) imdbPairs.push([imdb.examples[i].a, imdb.examples[i + 1].a]);
        n += await compare(ours, ref, imdbPairs, maxLength);
        t.diagnostic(`max length ${maxLength}: ${n} inputs identical`);
    }
});

test('agrees on a grid of pair lengths (odd/even budgets, either side longer)', async () => {
    for (const maxLength of [3, 4, 5, 8, 9, 12, 13]) {
        const { ours, ref } = setup(true, maxLength);
        const inputs = [];
        for (let n1 = 0; n1 <= 14; n1++) for (let n2 = 0; n2 <= 14; n2++) inputs.push([words(n1, 'alpha'), words(n2, 'beta')]);
        for (let n1 = 0; n1 <= 14; n1++) inputs.push(words(n1, 'gamma'));
        await compare(ours, ref, inputs, maxLength);
    }
});

test('agrees on hand-made edge cases, uncased and cased', async () => {
    for (const lowercase of [true, false]) {
        const { ours, ref } = setup(lowercase, Infinity);
        await compare(ours, ref, EDGE_TEXTS);
        await compare(ours, ref, EDGE_PAIRS);
        const t = setup(lowercase, 16);
        await compare(t.ours, t.ref, EDGE_TEXTS.concat(EDGE_PAIRS), 16);
    }
    const { ours, ref } = setup(false, Infinity);
    await compare(ours, ref, singles(sst2).slice(0, 300));
});

test('agrees on every code point between two letters (BMP all, astral planes every 3rd)', async () => {
    const { ours, ref } = setup(true, Infinity);
    const texts = [];
    for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 3) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        texts.push('a' + String.fromCodePoint(cp) + 'b');
    }
    for (let i = 0; i < texts.length; i += 50000) await compare(ours, ref, texts.slice(i, i + 50000));
});

test('cases with a known answer', () => {
    const ours = new BertTokenizer(vocab, { maxLength: 512 });
    assert.deepEqual(ours.tokenize("Héllo, WORLD! it's 你好"), ['hello', ',', 'world', '!', 'it', "'", 's', '[UNK]', '[UNK]']);
    assert.deepEqual(ours.tokenize('unaffable'), ['una', '##ffa', '##ble']); // greedy longest match
    assert.deepEqual(ours.tokenize('a'.repeat(101)), ['[UNK]']);
    const e = ours.encode('a b', 'c');
    assert.deepEqual(Array.from(e.ids), [101, 1037, 1038, 102, 1039, 102]);
    assert.deepEqual(Array.from(e.types), [0, 0, 0, 0, 1, 1]);
    assert.equal(e.truncated, false);
    const long = ours.encode(words(1000));
    assert.equal(long.ids.length, 512);
    assert.equal(long.truncated, true);
    assert.equal(long.ids[511], 102);
});
