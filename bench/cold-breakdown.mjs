// Where our cold start goes: the steps of web/index.js load() + the first answer, timed one by
// one in fresh Node processes (not part of npm test):
//
//   node bench/cold-breakdown.mjs [--runs 5] [--flags "--liftoff-only"] MODEL.safetensors
//
// Steps (as load() does them, through the same modules): import the JS modules; read the file;
// readModelFile (the JS-side checks, header + vocabulary parse); compile + instantiate
// web/inforcoef.wasm; copy the file into wasm memory + ifc_model_load; build the tokenizer; the
// first classification of a short sentence; then a second one (warm, for comparison).
// --flags passes V8 flags to the child processes, e.g. --liftoff-only (baseline compiler only, no
// background TurboFan tier-up) or --no-liftoff, to separate compile cost from run cost.
// Prints the median of each step over the runs.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

if (process.argv[2] === '--child') {
    const file = process.argv[3];
    const times = {};
    let t = performance.now();
    const step = (name) => { const now = performance.now(); times[name] = now - t; t = now; };
    const { readModelFile } = await import('../web/model-file.js');
    const { instantiateRuntime } = await import('../web/wasm.js');
    const { BertTokenizer } = await import('../web/tokenizer.js');
    step('import JS modules');
    const bytes = new Uint8Array(readFileSync(file));
    step('read file');
    const info = readModelFile(bytes);
    step('readModelFile (JS checks)');
    const rt = await instantiateRuntime();
    step('compile + instantiate wasm');
    const fp = rt.malloc(bytes.length);
    rt.u8(fp, bytes.length).set(bytes);
    const op = rt.malloc(4);
    if (rt.x.ifc_model_load(fp, bytes.length, op) !== 0) throw new Error(rt.lastError());
    rt.free(fp);
    step('copy in + ifc_model_load');
    const cfg = info.config;
    const tok = new BertTokenizer(info.vocab, { doLowerCase: cfg.do_lower_case, maxLength: cfg.max_position, specialTokens: info.specialTokens });
    step('tokenizer');
    const m = rt.u32At(op);
    const ids = rt.malloc(4 * 64), types = rt.malloc(4 * 64), logits = rt.malloc(4 * cfg.labels.length);
    const classify = () => {
        const e = tok.encode("it 's a charming and often affecting journey .");
        rt.i32(ids, e.ids.length).set(e.ids);
        rt.i32(types, e.ids.length).fill(0);
        if (rt.x.ifc_classify(m, ids, types, e.ids.length, logits) !== 0) throw new Error(rt.lastError());
    };
    classify();
    step('first classification');
    classify();
    step('second classification (warm)');
    console.log(JSON.stringify(times));
    process.exit(0);
}

const argv = process.argv.slice(2);
let runs = 5, flags = [], file = null;
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--flags') flags = argv[++i].split(/\s+/).filter(Boolean);
    else file = argv[i];
}
if (!file) { console.error('usage: node bench/cold-breakdown.mjs [--runs 5] [--flags "V8 FLAGS"] MODEL.safetensors'); process.exit(2); }
const all = [];
for (let r = 0; r < runs; r++) {
    const p = spawnSync(process.execPath, [...flags, self, '--child', file], { encoding: 'utf8' });
    if (p.status !== 0) { console.error(p.stderr); process.exit(1); }
    all.push(JSON.parse(p.stdout.trim().split('\n').pop()));
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(`${file}: ${runs} fresh processes${flags.length ? ` with ${flags.join(' ')}` : ''}, median ms per step`);
let total = 0;
for (const k of Object.keys(all[0])) {
    const v = median(all.map((x) => x[k]));
    if (!k.startsWith('second')) total += v;
    console.log(`  ${k.padEnd(32)} ${v.toFixed(1).padStart(7)}   (${all.map((x) => x[k].toFixed(0)).join(', ')})`);
}
console.log(`  ${'cold start (sum of medians)'.padEnd(32)} ${total.toFixed(1).padStart(7)}`);
