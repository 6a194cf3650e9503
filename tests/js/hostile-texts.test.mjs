// Random hostile texts through the whole path (tokenizer -> wasm runtime) on the sampled fixture
// (token samplers, max length 48): 1,500 seeded random strings and pairs built from control and
// format characters, combining marks, bidi controls, lone surrogates, noncharacters, astral
// characters, CJK, whitespace of every kind and plain words, at random thresholds. Fixed edge
// texts are tests/js/hostile.test.mjs's; this checks the invariants that must hold for any input:
//   - [CLS] ... [SEP] (... [SEP]) within the max length; types 0 then 1; ids inside the vocabulary;
//   - kept rows never grow, a layer without a sampler keeps all, kept positions ascend from 0;
//   - FLOPs <= dense FLOPs, equal at threshold -inf (which keeps every row);
//   - scores finite, summing to 1; the ids run again through classifyIds give the same logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from '../../web/index.js';
import { fixturePath } from './helpers.mjs';
import { prng } from '../prng.mjs';

// Code-point ranges that stress the tokenizer's cleaning, splitting and WordPiece steps.
const RANGES = [
    [0x00, 0x1f], [0x7f, 0x9f], [0x20, 0x7e], [0x20, 0x7e], [0xa0, 0x24f], [0x300, 0x36f], [0x590, 0x6ff],
    [0x900, 0x97f], [0x1100, 0x11ff], [0x2000, 0x206f], [0x2e80, 0x2fdf], [0x3000, 0x30ff], [0x4e00, 0x9fff],
    [0xac00, 0xd7a3], [0xd800, 0xdfff], [0xe000, 0xf8ff], [0xfdd0, 0xfdef], [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
    [0xfff0, 0xffff], [0x1f300, 0x1faff], [0x20000, 0x2a6df], [0xe0000, 0xe007f], [0xf0000, 0x10ffff],
];
const WORDS = ['the', 'a', 'film', 'good', 'bad', 'not', 'very', '.', ',', '!', "'", 'movie', 'UNAFFABLE', 'naïve', '[SEP]', '[CLS]', '##ing'];

function randomText(rand) {
    const parts = [];
    const len = rand() < 0.05 ? 2000 + Math.floor(rand() * 3000) : Math.floor(rand() * 120);
    for (let i = 0; i < len; i++) {
        const r = rand();
        if (r < 0.35) parts.push(WORDS[Math.floor(rand() * WORDS.length)] + ' ');
        else if (r < 0.45) parts.push(' \t\n\u00a0\u2028\u3000'[Math.floor(rand() * 6)]);
        else {
            const [lo, hi] = RANGES[Math.floor(rand() * RANGES.length)];
            const cp = lo + Math.floor(rand() * (hi - lo + 1));
            // lone surrogates go in as UTF-16 code units (String.fromCodePoint would pair nothing)
            parts.push(cp >= 0xd800 && cp <= 0xdfff ? String.fromCharCode(cp) : String.fromCodePoint(cp));
        }
    }
    return parts.join('');
}

test('1,500 random hostile texts and pairs: structural invariants hold at random thresholds', async () => {
    const clf = await load(fixturePath('sampled'));
    const rand = prng(20240601);
    const vocabSize = clf.config.vocab_size, P = clf.maxLength;
    const cls = clf.tokenizer.encode('').ids[0];
    const samplers = clf.config.layers.map((l) => l.sampler);
    const pick = [() => undefined, () => -Infinity, () => Infinity, () => 1e30, () => (rand() - 0.5) * 6];
    let pairs = 0, truncated = 0, droppedSomething = 0;
    for (let k = 0; k < 1500; k++) {
        const a = randomText(rand), b = rand() < 0.4 ? randomText(rand) : null;
        const input = b === null ? a : [a, b];
        const threshold = pick[Math.floor(rand() * pick.length)]();
        const r = await clf.explain(input, { threshold });
        const n = r.ids.length;
        const where = `case ${k} (threshold ${threshold}, ${n} ids)`;
        assert.ok(n >= 2 && n <= P, where);
        assert.equal(r.ids[0], cls, where);
        assert.equal(r.tokens[n - 1], '[SEP]', where);
        assert.ok(r.ids.every((id) => Number.isInteger(id) && id >= 0 && id < vocabSize), where);
        assert.ok(r.types.every((t, i) => (t === 0 || t === 1) && (i === 0 || t >= r.types[i - 1])), where);
        if (b === null) assert.ok(r.types.every((t) => t === 0), where);
        else { pairs++; assert.equal(r.tokens.filter((t) => t === '[SEP]').length >= 2, true, where); }
        if (r.truncated) truncated++;
        let prev = n;
        r.layers.forEach((l, i) => {
            assert.ok(l.kept >= 1 && l.kept <= prev, `${where} layer ${i}`);
            if (!samplers[i]) assert.equal(l.kept, prev, `${where} layer ${i} has no sampler`);
            if (l.positions) {
                assert.equal(l.positions.length, l.kept);
                assert.equal(l.positions[0], 0);
                assert.ok(l.positions.every((p, j) => p < n && (j === 0 || p > l.positions[j - 1])), `${where} layer ${i}`);
            }
            prev = l.kept;
        });
        if (prev < n) droppedSomething++;
        assert.ok(r.flops <= r.denseFlops, where);
        if (threshold === -Infinity) {
            assert.equal(r.flops, r.denseFlops, where);
            assert.ok(r.layers.every((l) => l.kept === n), where);
        }
        assert.ok(r.logits.every(Number.isFinite), where);
        assert.ok(r.labels.every((s) => Number.isFinite(s.score)), where);
        assert.ok(Math.abs(r.labels.reduce((s, x) => s + x.score, 0) - 1) < 1e-6, where);
        const again = clf.classifyIds(r.ids, r.types, { threshold });
        assert.deepEqual(Array.from(again.logits), r.logits, where);
    }
    // the draw covered what it means to: pairs, truncation to the max length, samplers dropping rows
    assert.ok(pairs > 500 && truncated > 300 && droppedSomething > 500, `pairs ${pairs}, truncated ${truncated}, dropped ${droppedSomething}`);
    clf.dispose();
});
