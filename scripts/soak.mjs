// Soak test: many classifications in ONE wasm instance, watching its memory.
//
//   node --expose-gc scripts/soak.mjs [--n 100000] [--model PATH] [--samples 20] [--seed S]
//   npm run soak
//
// Drives the public API (web/index.js load) on one model (default: the sampled fixture, token
// samplers on, max length 48): single texts and pairs of random length (0 to ~3x the max length, so
// many are truncated), random thresholds (the file's, -inf, +inf, uniform in [-2, 2]), and every
// tenth call raw ids through classifyIds (random length 1..max), every fiftieth explain().
// Samples, every n/samples calls: the wasm memory size (captured by wrapping
// WebAssembly.instantiate, since the API does not expose the instance), process RSS and the JS heap
// (after a full GC when --expose-gc is given).
// Verdict: "flat" when the wasm memory did not change after the warm-up (first sample; wasm memory
// never shrinks, so any growth is a leak or an unbounded allocation) and RSS in the last quarter of
// the samples is within max(16 MiB, 10%) of the first quarter; otherwise "GROWING" (exit 1).
// Not part of npm test (about a minute on one core).
import { load } from '../web/index.js';
import { prng } from '../tests/prng.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => {
    if (a.startsWith('--')) acc.push([a.slice(2), all[i + 1]]);
    return acc;
}, []));
const N = Number(args.n ?? 100000), SAMPLES = Number(args.samples ?? 20), SEED = Number(args.seed ?? 1);
const MODEL = args.model ?? new URL('../tests/fixtures/sampled.f32.safetensors', import.meta.url).pathname;

// Capture the instance that load() creates (one load = one instance).
let instance = null;
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (...a) => {
    const r = await instantiate.apply(WebAssembly, a);
    instance = r instanceof WebAssembly.Instance ? r : r.instance;
    return r;
};

const rand = prng(SEED);
const WORDS = ['the', 'a', 'film', 'good', 'bad', 'not', 'very', 'movie', 'is', 'was', '.', ',', '!', 'naïve', '😀', '中文', 'unaffable', '\u0301', '\u200b'];

const clf = await load(MODEL);
if (!instance) throw new Error('soak.mjs: did not capture the wasm instance');
const P = clf.maxLength, V = clf.config.vocab_size, T = clf.config.type_vocab_size;
const text = () => Array.from({ length: Math.floor(rand() * 3 * P) }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');
const threshold = () => { const r = rand(); return r < 0.25 ? undefined : r < 0.4 ? -Infinity : r < 0.5 ? Infinity : (rand() - 0.5) * 4; };

const MiB = 1 << 20;
const samples = [];
function sample(i, t0) {
    if (globalThis.gc) globalThis.gc();
    const m = process.memoryUsage();
    const s = { calls: i, wasmMiB: instance.exports.memory.buffer.byteLength / MiB, rssMiB: m.rss / MiB, heapMiB: m.heapUsed / MiB, s: (performance.now() - t0) / 1000 };
    samples.push(s);
    console.log(`${String(i).padStart(7)} calls  wasm ${s.wasmMiB.toFixed(2)} MiB  rss ${s.rssMiB.toFixed(1)} MiB  js heap ${s.heapMiB.toFixed(1)} MiB  ${s.s.toFixed(1)} s`);
}

console.log(`soak: ${N} classifications, model ${MODEL} (max length ${P}), seed ${SEED}${globalThis.gc ? '' : ' (run with --expose-gc for steadier heap numbers)'}`);
const every = Math.max(1, Math.floor(N / SAMPLES));
const t0 = performance.now();
let pairs = 0, ids = 0, nonFinite = 0;
for (let i = 1; i <= N; i++) {
    const k = i % 50;
    if (i % 10 === 0) {
        const n = 1 + Math.floor(rand() * P);
        const r = clf.classifyIds(Array.from({ length: n }, () => Math.floor(rand() * V)), Array.from({ length: n }, () => Math.floor(rand() * T)), { threshold: threshold() });
        ids++;
        if (!r.logits.every(Number.isFinite)) nonFinite++;
    } else if (k === 1) {
        const r = await clf.explain(text(), { threshold: threshold() });
        if (!r.logits.every(Number.isFinite)) nonFinite++;
    } else {
        const pair = rand() < 0.4;
        const out = await clf(pair ? [text(), text()] : text(), { threshold: threshold(), topK: null });
        if (pair) pairs++;
        if (!out.every((x) => Number.isFinite(x.score))) nonFinite++;
    }
    if (i === 1000 || i % every === 0) sample(i, t0);
}
clf.dispose();

const warm = samples.filter((s) => s.calls >= 1000);
const q = Math.max(1, Math.floor(warm.length / 4));
const mean = (xs, key) => xs.reduce((a, s) => a + s[key], 0) / xs.length;
const rssFirst = mean(warm.slice(0, q), 'rssMiB'), rssLast = mean(warm.slice(-q), 'rssMiB');
const wasmGrew = warm[warm.length - 1].wasmMiB - warm[0].wasmMiB;
const rssGrew = rssLast - rssFirst;
const flat = wasmGrew === 0 && rssGrew <= Math.max(16, 0.1 * rssFirst) && nonFinite === 0;
const secs = (performance.now() - t0) / 1000;
console.log(`soak: ${N} calls (${pairs} pairs, ${ids} raw-id calls) in ${secs.toFixed(1)} s, ${(N / secs).toFixed(0)} calls/s; non-finite results: ${nonFinite}`);
console.log(`soak: wasm memory ${warm[0].wasmMiB.toFixed(2)} -> ${warm[warm.length - 1].wasmMiB.toFixed(2)} MiB (grew ${wasmGrew} MiB); ` +
    `RSS first quarter ${rssFirst.toFixed(1)} MiB, last quarter ${rssLast.toFixed(1)} MiB (${rssGrew >= 0 ? '+' : ''}${rssGrew.toFixed(1)} MiB)`);
console.log(`soak: verdict: ${flat ? 'flat' : 'GROWING'}`);
process.exitCode = flat ? 0 : 1;
