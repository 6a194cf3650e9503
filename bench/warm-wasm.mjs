// Warm classification speed of two or more builds of the runtime, side by side in one process
// (not part of npm test): checks that a build-flag change (build.sh) leaves the forward pass as fast.
//
//   node bench/warm-wasm.mjs [--runs 300] [--threshold T] MODEL.safetensors LENGTH A.wasm B.wasm ...
//
// Every build loads MODEL through the public API (load(MODEL, {wasm: module})); each run classifies
// the same LENGTH token ids with every build, in turn; the first 10% of runs are warm-up. Prints
// the median and 10th percentile ms per build. --threshold: the samplers' keep threshold (default
// the file's; -Infinity keeps every token).
import { readFileSync } from 'node:fs';
import { load } from '../web/index.js';

const argv = process.argv.slice(2);
let runs = 300, threshold;
const rest = [];
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--threshold') threshold = Number(argv[++i]);
    else rest.push(argv[i]);
}
const [model, length, ...wasms] = rest;
if (!model || !(Number(length) >= 2) || wasms.length < 1) {
    console.error('usage: node bench/warm-wasm.mjs [--runs 300] [--threshold T] MODEL.safetensors LENGTH A.wasm B.wasm ...');
    process.exit(2);
}
const clfs = [];
for (const w of wasms) clfs.push(await load(model, { wasm: new WebAssembly.Module(readFileSync(w)), threshold }));
const n = Math.min(Number(length), clfs[0].maxLength);
// [CLS], then ids spread over the vocabulary (the same for every build)
const vocab = clfs[0].tokenizer.vocab.length;
const ids = Int32Array.from({ length: n }, (_, i) => (i === 0 ? clfs[0].tokenizer.clsId : 1 + ((i * 7919) % (vocab - 1))));
const times = wasms.map(() => []);
for (let r = 0; r < runs; r++) {
    for (let i = 0; i < clfs.length; i++) {
        const t = performance.now();
        clfs[i].classifyIds(ids);
        if (r >= runs / 10) times[i].push(performance.now() - t);
    }
}
const at = (xs, f) => xs.slice().sort((a, b) => a - b)[Math.floor((xs.length - 1) * f)];
console.log(`${model}, ${n} tokens, ${runs} runs per build (interleaved), ms per classification:`);
wasms.forEach((w, i) => console.log(`  ${w.padEnd(40)} median ${at(times[i], 0.5).toFixed(3)}   p10 ${at(times[i], 0.1).toFixed(3)}`));
