// Where our cold start goes: the steps of web/index.js load() + the first answer, timed one by
// one in fresh Node processes (not part of npm test):
//
//   node bench/cold-breakdown.mjs [--runs 7] [--flags "--liftoff-only"] [--wasm FILE] [--against DIR] MODEL.safetensors
//
// Steps (as load() does them for a local file, through the same modules): import the JS modules;
// compile + instantiate web/inforcoef.wasm; read the file straight into the wasm heap; readModelFile
// (the JS-side checks, header + vocabulary parse); ifc_model_load (parse again, check, repack,
// index the vocabulary); build the tokenizer (on that index, as load() does); the first answer of a
// short sentence, split into tokenising it and classifying it; then a second answer (warm).
// Besides wall time, each step's CPU time is read from Linux's /proc/<tid>/schedstat (time on a
// CPU, ns): the main thread's, and all other threads' together (V8's compile and GC workers, libuv's
// file-system pool). On a busy machine wall time = CPU time + waiting for a core; the CPU times say
// what the step costs.
// --flags passes V8 flags to the child processes, e.g. --liftoff-only (baseline compiler only, no
// background TurboFan tier-up) or --no-liftoff, to separate compile cost from run cost. --wasm runs
// another build of the runtime (default web/inforcoef.wasm). --against DIR: also times the whole
// cold start of another copy of web/ (DIR/index.js with its own DIR/inforcoef.wasm, e.g. an older
// commit's), in processes alternating with this tree's, for a before/after.
// Prints the median of each step over the runs, and the whole cold start of load() itself
// (import + load() + first answer, as bench/cold-start.mjs times it) in separate processes.
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';

const self = fileURLToPath(import.meta.url);
const SENTENCE = "it 's a charming and often affecting journey .";

// ns on a CPU: this thread, and every other thread of the process (Linux; 0 elsewhere)
const schedNs = (path) => { try { return Number(readFileSync(path, 'utf8').split(' ')[0]); } catch { return 0; } };
const mainNs = () => schedNs('/proc/thread-self/schedstat');
const allNs = () => {
    let ns = 0;
    try { for (const t of readdirSync('/proc/self/task')) ns += schedNs(`/proc/self/task/${t}/schedstat`); } catch { /* not Linux */ }
    return ns;
};

if (process.argv[2] === '--steps' || process.argv[2] === '--whole') {
    const [mode, file, wasmFile, webDir] = process.argv.slice(2);
    const times = {};
    let t = performance.now(), m = mainNs(), a = allNs();
    const step = (name) => {
        const now = performance.now(), mn = mainNs(), an = allNs();
        times[name] = { wall: now - t, main: (mn - m) / 1e6, others: (an - a - (mn - m)) / 1e6 };
        t = performance.now(); m = mainNs(); a = allNs(); // the probes themselves are not counted
    };
    const wasm = wasmFile ? pathToFileURL(wasmFile) : undefined;
    if (mode === '--whole') {
        const { load } = await import(webDir ? pathToFileURL(path.resolve(webDir, 'index.js')).href : '../web/index.js');
        const clf = await load(file, { wasm });
        await clf(SENTENCE);
        step('import + load() + first answer');
        await clf(SENTENCE);
        step('second answer (warm)');
        console.log(JSON.stringify(times));
        process.exit(0);
    }
    const { readModelFile } = await import('../web/model-file.js');
    const { instantiateRuntime, readFileInto } = await import('../web/wasm.js');
    const { BertTokenizer } = await import('../web/tokenizer.js');
    step('import JS modules');
    const rt = await instantiateRuntime(wasm);
    step('compile + instantiate wasm');
    let fp = 0;
    const bytes = await readFileInto(pathToFileURL(file), (size) => rt.u8(fp = rt.malloc(size), size));
    step('read file into the wasm heap');
    const info = readModelFile(bytes);
    step('readModelFile (JS checks)');
    const op = rt.malloc(4);
    if (rt.x.ifc_model_load(fp, info.fileSize, op) !== 0) throw new Error(rt.lastError());
    rt.free(fp);
    step('ifc_model_load');
    const cfg = info.config;
    const lookup = rt.tokenLookup(rt.u32At(op), () => false); // as load() does
    const tok = new BertTokenizer(info.vocab, { doLowerCase: cfg.do_lower_case, maxLength: cfg.max_position, specialTokens: info.specialTokens, lookup });
    step('tokenizer');
    const model = rt.u32At(op);
    const ids = rt.malloc(4 * cfg.max_position), types = rt.malloc(4 * cfg.max_position), logits = rt.malloc(4 * cfg.labels.length);
    let e = tok.encode(SENTENCE);
    step('first answer: tokenise');
    const classify = () => {
        rt.i32(ids, e.ids.length).set(e.ids);
        rt.i32(types, e.ids.length).fill(0);
        if (rt.x.ifc_classify(model, ids, types, e.ids.length, logits) !== 0) throw new Error(rt.lastError());
    };
    classify();
    step('first answer: ifc_classify');
    e = tok.encode(SENTENCE);
    classify();
    step('second answer (warm)');
    console.log(JSON.stringify(times));
    process.exit(0);
}

const argv = process.argv.slice(2);
let runs = 7, flags = [], file = null, wasmFile = '', against = null;
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--flags') flags = argv[++i].split(/\s+/).filter(Boolean);
    else if (argv[i] === '--wasm') wasmFile = argv[++i];
    else if (argv[i] === '--against') against = path.resolve(argv[++i]);
    else file = argv[i];
}
if (!file) { console.error('usage: node bench/cold-breakdown.mjs [--runs 7] [--flags "V8 FLAGS"] [--wasm FILE] MODEL.safetensors'); process.exit(2); }
const child = (mode, webDir = '') => {
    const p = spawnSync(process.execPath, [...flags, self, mode, file, webDir ? '' : wasmFile, webDir], { encoding: 'utf8' });
    if (p.status !== 0) { console.error(p.stderr); process.exit(1); }
    return JSON.parse(p.stdout.trim().split('\n').pop());
};
const steps = [], whole = [], other = [];
for (let r = 0; r < runs; r++) { // the kinds of process alternate, so all see the same machine
    steps.push(child('--steps'));
    whole.push(child('--whole'));
    if (against) other.push(child('--whole', against));
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const f = (v) => v.toFixed(1).padStart(7);
const table = (all, title) => {
    console.log(`  ${title.padEnd(34)}    wall   main CPU  other threads   (wall of each run)`);
    const sum = { wall: 0, main: 0, others: 0 };
    for (const k of Object.keys(all[0])) {
        const v = {};
        for (const c of ['wall', 'main', 'others']) v[c] = median(all.map((x) => x[k][c]));
        if (!k.startsWith('second')) for (const c of ['wall', 'main', 'others']) sum[c] += v[c];
        console.log(`  ${k.padEnd(34)} ${f(v.wall)} ${f(v.main)}   ${f(v.others)}        (${all.map((x) => x[k].wall.toFixed(0)).join(', ')})`);
    }
    return sum;
};
console.log(`${file}${wasmFile ? ` on ${wasmFile}` : ''}: ${runs} fresh processes of each kind${flags.length ? ` with ${flags.join(' ')}` : ''}, medians in ms`);
const sum = table(steps, 'step by step');
console.log(`  ${'sum of the step medians'.padEnd(34)} ${f(sum.wall)} ${f(sum.main)}   ${f(sum.others)}`);
table(whole, 'load() as shipped');
if (against) table(other, `load() of ${path.relative(process.cwd(), against) || against}`);
