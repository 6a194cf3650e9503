// Side-by-side benchmark: our wasm runtime against onnxruntime-web (WASM SIMD backend, one thread,
// in Node) and onnxruntime-node (native, one thread). Not part of npm test.
//
//   npm run bench [-- OPTIONS]          (= node bench/compare.mjs; run it under `nice -n 5` here)
//
// Models (defaults are the project's real files; a missing default falls back to the stand-in
// listed beside it, and every row of the output names the exact file it measured):
//   --teacher F        dense teacher, F32          /work/runs/teachers/sst2.f32.safetensors
//                                                  (stand-in /work/runs/ic_scratch/standin_sst2.f32.safetensors)
//   --teacher-i8 F     the same teacher as I8      (default: exported from --teacher into build/bench/models/)
//   --cofi F           CoFi-only model             /work/runs/sst2/stage1/model.pt
//   --inforcoef F      Infor-Coef model, F32       /work/runs/sst2/export/sst2.f32.safetensors
//   --inforcoef-i8 F   Infor-Coef model, quantised models/sst2.safetensors (the shipped file: I8, 4-bit tables)
//   (stand-ins: the compression runs under /work/runs/ic_scratch/, see DEFAULTS below)
//   --imdb-teacher F   IMDb dense teacher, F32     /work/runs/teachers/imdb.f32.safetensors
//   --imdb-inforcoef F IMDb Infor-Coef model, I8   models/imdb.safetensors, /work/runs/imdb/export/imdb.i8.safetensors
//   --imdb-inforcoef-f32 F  the same, F32          /work/runs/imdb/export/imdb.f32.safetensors
//   When the IMDb teacher exists, an IMDb task pass runs too: the IMDb teacher in ORT-web,
//   onnxruntime-node and ours, and the IMDb Infor-Coef model(s) in ours, on --imdb-task reviews.
//   A .pt checkpoint is exported to a model file first (python3 -m train.export, cached).
//   The teacher is exported to ONNX (bench/export-onnx.py: float graph + dynamically quantised
//   int8 graph, checked against our runtime) into build/bench/onnx/, re-exported when older.
// Inputs (tokenised once per vocabulary with web/tokenizer.js, so every engine gets identical ids):
//   --sst2 N           first N SST-2 dev sentences (default all 872)
//   --imdb N           N IMDb test reviews, evenly spaced over the file (both labels), cut at 512 (default 24)
//   --imdb-task N      reviews for the IMDb task pass, chosen the same way (default 100)
//   --lengths L,...    fixed lengths for the dense engines (default 16,64,128,512)
//   --cold N           cold starts per configuration, each a fresh Node process (default 3)
//   --no-gemm          skip the GEMM efficiency measurement (bench/gemm-efficiency.mjs)
//   --doc              write docs/benchmarks.md (between its bench markers) and docs/benchmarks.png
//   --json F           results file (default build/bench/results.json)
// Timing: all configurations live in one process; each input is run by every configuration in a
// shuffled order before the next input (interleaved), after a warm-up that is not recorded.
import { readFileSync, writeFileSync, existsSync, statSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEngine } from './engines.mjs';
import { BertTokenizer } from '../web/tokenizer.js';
import { readModelFile } from '../web/model-file.js';
import { parseDataset } from '../web/datasets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const at = (p) => path.resolve(root, p);
const rel = (p) => (p.startsWith(root + path.sep) ? path.relative(root, p) : p);
const PYTHON = process.env.PYTHON || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// arguments

const opts = { sst2: Infinity, imdb: 24, imdbTask: 100, lengths: [16, 64, 128, 512], cold: 3, gemm: true, doc: false, json: at('build/bench/results.json') };
const given = {};
{
    const argv = process.argv.slice(2);
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
        if (['--teacher', '--teacher-i8', '--cofi', '--inforcoef', '--inforcoef-i8', '--imdb-teacher', '--imdb-inforcoef', '--imdb-inforcoef-f32'].includes(a)) given[a.slice(2)] = path.resolve(v());
        else if (a === '--sst2') opts.sst2 = Number(v());
        else if (a === '--imdb') opts.imdb = Number(v());
        else if (a === '--imdb-task') opts.imdbTask = Number(v());
        else if (a === '--lengths') opts.lengths = v().split(',').map(Number);
        else if (a === '--cold') opts.cold = Number(v());
        else if (a === '--no-gemm') opts.gemm = false;
        else if (a === '--doc') opts.doc = true;
        else if (a === '--json') opts.json = path.resolve(v());
        else if (a === '-h' || a === '--help') {
            const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
            console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n'));
            process.exit(0);
        }
        else throw new Error(`unknown argument ${a} (see --help)`);
    }
}
const command = `${os.getPriority() > 0 ? `nice -n ${os.getPriority()} ` : ''}npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
const log = (s) => console.log(s);
const started = Date.now();

// ---------------------------------------------------------------------------------------------
// models

// Candidates per role, first existing wins: [source, dtype to export a .pt or re-export to].
// The first entry is the project's real file; the others are the compression engineer's stand-in
// runs (teacher: a 4L/256 GloVe-initialised stand-in, not the project's teacher).
const SCRATCH = '/work/runs/ic_scratch';
const DEFAULTS = {
    teacher: [['/work/runs/teachers/sst2.f32.safetensors'], [`${SCRATCH}/standin_sst2.f32.safetensors`]],
    cofi: [['/work/runs/sst2/stage1/model.pt'], [`${SCRATCH}/sst2_h50/stage1/model.pt`], [`${SCRATCH}/sst2_standin/stage1/model.pt`]],
    inforcoef: [['/work/runs/sst2/export/sst2.f32.safetensors'],
        ...['sst2_h50', 'sst2_standin'].flatMap((r) => [[`${SCRATCH}/${r}/export/sst2.f32.safetensors`], [`${SCRATCH}/${r}/ib/model.pt`]])],
    'inforcoef-i8': [[at('models/sst2.safetensors')], ['/work/runs/sst2/export/sst2.i8.safetensors'],
        ...['sst2_h50', 'sst2_standin'].flatMap((r) => [[`${SCRATCH}/${r}/export/sst2.i8.safetensors`], [`${SCRATCH}/${r}/ib/model.pt`, 'i8']])],
};

function run(cmd, args, what) {
    const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`${what} failed (${cmd} ${args.join(' ')}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}
const newer = (a, ...bs) => existsSync(a) && bs.every((b) => statSync(a).mtimeMs >= statSync(b).mtimeMs);
const stem = (p) => path.basename(p).replace(/\.(safetensors|pt)$/, '').replace(/[^A-Za-z0-9_.-]/g, '_');

// A model file for `source` (a .pt checkpoint is exported; dtype 'i8' re-exports as I8).
function modelFile(source, dtype = null) {
    if (!source.endsWith('.pt') && !dtype) return source;
    const dir = path.dirname(source).split(path.sep).slice(-2).join('_');
    const out = at(`build/bench/models/${dir}_${stem(source)}.${dtype ?? 'f32'}.safetensors`);
    if (!newer(out, source)) {
        mkdirSync(path.dirname(out), { recursive: true });
        log(`exporting ${source} -> ${rel(out)}`);
        run(PYTHON, ['-m', 'train.export', source, out, '--dtype', dtype ?? 'f32'], 'train.export');
    }
    return out;
}

const models = {};
for (const role of ['teacher', 'cofi', 'inforcoef', 'inforcoef-i8']) {
    const found = given[role] ? [given[role]] : DEFAULTS[role].find(([p]) => existsSync(p));
    if (!found) { log(`(no ${role} model: none of ${DEFAULTS[role].map(([p]) => p).join(', ')} exists; its rows are skipped)`); continue; }
    const [source, dtype = null] = found;
    if (!existsSync(source)) throw new Error(`--${role} ${source}: no such file`);
    models[role] = { source, path: modelFile(source, dtype), standin: !given[role] && source !== DEFAULTS[role][0][0] };
}
if (!models.teacher) throw new Error('no teacher model: give --teacher');
// The IMDb task's models (no stand-ins): measured when the IMDb teacher exists.
const IMDB_DEFAULTS = {
    'imdb-teacher': ['/work/runs/teachers/imdb.f32.safetensors'],
    'imdb-inforcoef-f32': ['/work/runs/imdb/export/imdb.f32.safetensors'],
    'imdb-inforcoef': [at('models/imdb.safetensors'), '/work/runs/imdb/export/imdb.i8.safetensors'],
};
for (const [role, paths] of Object.entries(IMDB_DEFAULTS)) {
    const p = given[role] ?? paths.find((x) => existsSync(x));
    if (p && !existsSync(p)) throw new Error(`--${role} ${p}: no such file`);
    if (p && (role === 'imdb-teacher' || models['imdb-teacher'])) models[role] = { source: p, path: modelFile(p), standin: false };
    else log(`(no ${role} model${p ? '' : `: none of ${paths.join(', ')} exists`}; ${role === 'imdb-teacher' ? 'no IMDb task pass' : 'its row is skipped'})`);
}
if (given['teacher-i8']) models['teacher-i8'] = { source: given['teacher-i8'], path: given['teacher-i8'], standin: false };
else {
    // the teacher engineer's own I8 export next to the F32 one, else ours (python3 -m train.export --dtype i8)
    const sibling = models.teacher.path.replace(/\.f32\.safetensors$/, '.i8.safetensors');
    const path_ = sibling !== models.teacher.path && existsSync(sibling) ? sibling : modelFile(models.teacher.path, 'i8');
    models['teacher-i8'] = { source: models.teacher.source, path: path_, standin: models.teacher.standin };
}

for (const m of Object.values(models)) {
    const bytes = new Uint8Array(readFileSync(m.path));
    m.bytes = bytes.length;
    m.info = readModelFile(bytes);
    m.config = m.info.config;
    m.vocabKey = `${m.info.vocab.length}:${fnv(m.info.vocab.join('\n'))}`;
}

// ONNX graphs of a teacher (float, and int8 if asked), and the export check's report.
const onnxDir = at('build/bench/onnx');
function exportOnnx(teacher, int8) {
    const f32 = path.join(onnxDir, `${stem(teacher.path)}.onnx`);
    const i8 = int8 ? path.join(onnxDir, `${stem(teacher.path)}.int8.onnx`) : null;
    const checkFile = f32 + '.check.json';
    let report;
    if (!newer(f32, teacher.path, path.join(here, 'export-onnx.py'), path.join(here, 'onnx_int8.py')) || (i8 && !existsSync(i8)) || !existsSync(checkFile)) {
        log(`exporting ${rel(teacher.path)} to ONNX: ${rel(f32)}${i8 ? `, ${rel(i8)}` : ''}`);
        mkdirSync(onnxDir, { recursive: true });
        report = run(PYTHON, [path.join(here, 'export-onnx.py'), teacher.path, f32, ...(i8 ? ['--int8', i8] : []), '--check-cases', checkFile], 'bench/export-onnx.py');
    } else {
        report = run(process.execPath, [path.join(here, 'check-onnx.mjs'), checkFile], 'bench/check-onnx.mjs');
    }
    log(report.trim());
    const entry = (p) => ({ path: p, bytes: statSync(p).size, vocabKey: teacher.vocabKey, info: teacher.info, config: teacher.config, standin: teacher.standin });
    return { f32: entry(f32), i8: i8 && entry(i8), report: report.trim() };
}
const teacherOnnx = exportOnnx(models.teacher, true);
const exportReport = teacherOnnx.report;
models['onnx-f32'] = teacherOnnx.f32;
models['onnx-int8'] = teacherOnnx.i8;
let imdbExportReport = null;
if (models['imdb-teacher']) {
    const x = exportOnnx(models['imdb-teacher'], false);
    models['imdb-onnx-f32'] = x.f32;
    imdbExportReport = x.report;
}

// The configurations, in table order. base: the baseline of the ratios.
const CONFIGS = [
    { id: 'ort-web-f32', kind: 'ort-web', model: 'onnx-f32', label: 'ORT-web WASM, dense teacher f32', base: true },
    { id: 'ort-node-f32', kind: 'ort-node', model: 'onnx-f32', label: 'onnxruntime-node, dense teacher f32' },
    { id: 'ours-dense-f32', kind: 'ours', model: 'teacher', label: 'ours, dense teacher F32' },
    { id: 'ort-web-int8', kind: 'ort-web', model: 'onnx-int8', label: 'ORT-web WASM, dense teacher int8 (dyn. quant.)' },
    { id: 'ort-node-int8', kind: 'ort-node', model: 'onnx-int8', label: 'onnxruntime-node, dense teacher int8 (dyn. quant.)' },
    { id: 'ours-dense-i8', kind: 'ours', model: 'teacher-i8', label: 'ours, dense teacher I8' },
    { id: 'ours-cofi-f32', kind: 'ours', model: 'cofi', label: 'ours, CoFi-only F32' },
    { id: 'ours-ic-f32', kind: 'ours', model: 'inforcoef', label: 'ours, Infor-Coef F32' },
    { id: 'ours-ic-i8', kind: 'ours', model: 'inforcoef-i8', label: 'ours, Infor-Coef shipped (I8, 4-bit tables)' },
].filter((c) => models[c.model]);
// The IMDb task pass (its own teacher and compressed models; base: ORT-web on the IMDb teacher).
const IMDB_CONFIGS = [
    { id: 'imdb-ort-web-f32', kind: 'ort-web', model: 'imdb-onnx-f32', label: 'ORT-web WASM, IMDb teacher f32', base: true },
    { id: 'imdb-ort-node-f32', kind: 'ort-node', model: 'imdb-onnx-f32', label: 'onnxruntime-node, IMDb teacher f32' },
    { id: 'imdb-ours-dense-f32', kind: 'ours', model: 'imdb-teacher', label: 'ours, IMDb teacher F32' },
    { id: 'imdb-ours-ic-f32', kind: 'ours', model: 'imdb-inforcoef-f32', label: 'ours, IMDb Infor-Coef F32' },
    { id: 'imdb-ours-ic-i8', kind: 'ours', model: 'imdb-inforcoef', label: 'ours, IMDb Infor-Coef shipped (I8, 4-bit tables)' },
].filter((c) => models[c.model]);

// ---------------------------------------------------------------------------------------------
// inputs

function fnv(s) {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h.toString(16);
}

const sst2All = parseDataset(readFileSync(at('../shared/data/glue/SST-2/dev.tsv'), 'utf8')).examples;
const sst2 = sst2All.slice(0, Math.min(opts.sst2, sst2All.length));
const imdbAll = parseDataset(gunzipSync(readFileSync(at('../shared/data/imdb/test.tsv.gz'))).toString('utf8')).examples;
const imdbStep = Math.floor(imdbAll.length / Math.max(1, opts.imdb));
const imdb = Array.from({ length: Math.min(opts.imdb, imdbAll.length) }, (_, i) => imdbAll[i * imdbStep]);
const imdbTaskStep = Math.floor(imdbAll.length / Math.max(1, opts.imdbTask));
const imdbTask = IMDB_CONFIGS.length ? Array.from({ length: Math.min(opts.imdbTask, imdbAll.length) }, (_, i) => imdbAll[i * imdbTaskStep]) : [];

// tokens[vocabKey][dataset] = [{ids, types, label}]
const tokens = {};
for (const m of Object.values(models)) {
    if (tokens[m.vocabKey]) continue;
    const tok = new BertTokenizer(m.info.vocab, { doLowerCase: m.config.do_lower_case, maxLength: Math.min(512, m.config.max_position), specialTokens: m.info.specialTokens });
    const enc = (ex) => { const e = tok.encode(ex.a, ex.b); return { ids: e.ids, types: e.types, label: Number(ex.label) }; };
    const longText = imdbAll.find((ex) => tok.pieceIds(ex.a, 0).total >= 520); // a review of > 512 pieces
    tokens[m.vocabKey] = {
        tok, sst2: sst2.map(enc), imdb: imdb.map(enc), imdbTask: imdbTask.map(enc),
        fixed: Object.fromEntries(opts.lengths.map((T) => [T, tok.encode(longText.a, null, { maxLength: T })])),
    };
}
const meanLen = (xs) => xs.reduce((s, x) => s + x.ids.length, 0) / xs.length;
const teacherTokens = tokens[models.teacher.vocabKey];
log(`inputs: SST-2 dev ${sst2.length} sentences (mean ${meanLen(teacherTokens.sst2).toFixed(1)} tokens), ` +
    `IMDb test ${imdb.length} reviews cut at 512 (mean ${meanLen(teacherTokens.imdb).toFixed(1)} tokens)`);
for (const [key, t] of Object.entries(tokens)) {
    if (key === models.teacher.vocabKey) continue;
    let same = 0;
    t.sst2.forEach((x, i) => { if (t.tok.decodeIds(x.ids).join(' ') === teacherTokens.tok.decodeIds(teacherTokens.sst2[i].ids).join(' ')) same++; });
    log(`  another vocabulary (${key}): ${same}/${sst2.length} SST-2 sentences tokenise to the same pieces as the teacher's`);
}

// ---------------------------------------------------------------------------------------------
// timing helpers

function rng(seed) { let s = seed >>> 0 || 1; return () => { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; }; }
function shuffled(xs, rand) { const a = xs.slice(); for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; } return a; }
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const argmax = (a) => { let b = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[b]) b = i; return b; };
const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

// Warm-up: every engine runs the inputs in turn until it has run `minRuns` and spent `minMs`.
async function warmUp(engines, inputsOf, minRuns, minMs) {
    for (const e of engines) {
        const xs = inputsOf(e);
        const t0 = performance.now();
        for (let i = 0; i < minRuns || performance.now() - t0 < minMs; i++) {
            const x = xs[i % xs.length];
            await e.run(x.ids, x.types);
            if (i > 50 * minRuns) break;
        }
    }
}

function summarise(times) {
    const s = times.slice().sort((a, b) => a - b);
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    return { n: s.length, median: quantile(s, 0.5), p95: quantile(s, 0.95), mean, perSec: 1000 / mean };
}

// ---------------------------------------------------------------------------------------------
// open every configuration in this process

log(`opening ${CONFIGS.length} configurations (load average ${loadavg()})`);
async function openAll(configs) {
    const list = [];
    for (const c of configs) {
        const m = models[c.model];
        const e = await openEngine({ kind: c.kind, path: m.path });
        Object.assign(e, { config: c, model: m, tokens: tokens[m.vocabKey] });
        list.push(e);
    }
    return list;
}
const engines = await openAll(CONFIGS);
const allEngines = engines;
const sst2Teacher = engines.find((e) => e.config.id === 'ours-dense-f32');

// ---------------------------------------------------------------------------------------------
// datasets: every input once per configuration, interleaved

async function datasetPass(name, warmRuns, warmMs, engines = allEngines, teacherEngine = sst2Teacher) {
    const rand = rng(name === 'sst2' ? 1 : name === 'imdb' ? 2 : 3);
    const n = engines[0].tokens[name].length;
    log(`\n== ${name}: ${n} inputs x ${engines.length} configurations (load average ${loadavg()})`);
    await warmUp(engines, (e) => e.tokens[name], warmRuns, warmMs);
    const rec = new Map(engines.map((e) => [e, { times: [], correct: 0, flops: 0, kept: null, logits: [] }]));
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
        for (const e of shuffled(engines, rand)) {
            const x = e.tokens[name][i];
            const s = performance.now();
            const r = await e.run(x.ids, x.types);
            const ms = performance.now() - s;
            const d = rec.get(e);
            d.times.push(ms);
            if (argmax(r.logits) === x.label) d.correct++;
            d.logits.push(Array.from(r.logits));
            // FLOPs: our runtime's counter; the ONNX graphs run the dense teacher, whose FLOPs
            // are the same formula with every token kept (teacher model's denseFlops)
            d.flops += r.flops ?? teacherEngine.denseFlops(x.ids.length);
            if (r.kept) { d.kept ??= new Array(r.kept.length).fill(0); r.kept.forEach((k, j) => { d.kept[j] += k; }); }
        }
        if ((i + 1) % Math.max(1, Math.floor(n / 4)) === 0) log(`  ${i + 1}/${n} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    }
    const base = rec.get(engines.find((e) => e.config.base));
    const rows = engines.map((e) => {
        const d = rec.get(e);
        const s = summarise(d.times);
        // label agreement with ORT-web on the dense teacher, and largest logit difference (same graph only)
        let agree = 0, maxDiff = 0;
        d.logits.forEach((l, i) => {
            if (argmax(l) === argmax(base.logits[i])) agree++;
            maxDiff = Math.max(maxDiff, ...l.map((v, j) => Math.abs(v - base.logits[i][j])));
        });
        return {
            id: e.config.id, label: e.config.label, kind: e.kind, model: e.model.path, bytes: e.model.bytes,
            ...s, accuracy: d.correct / n, flops: d.flops / n, kept: d.kept && d.kept.map((k) => k / n),
            meanTokens: meanLen(e.tokens[name]), agreeWithBase: agree / n, maxLogitDiffVsBase: maxDiff,
        };
    });
    const b = rows[engines.findIndex((e) => e.config.base)];
    for (const r of rows) { r.speedup = b.median / r.median; r.flopsRatio = b.flops / r.flops; }
    printRows(rows);
    return { n, meanTokens: meanLen(teacherEngine.tokens[name]), seconds: (Date.now() - t0) / 1000, rows };
}

function printRows(rows) {
    log(`  ${'configuration'.padEnd(48)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'ex/s'.padStart(7)} ${'acc'.padStart(6)} ${'MFLOPs'.padStart(8)} ${'x ORT-web'.padStart(9)}`);
    for (const r of rows) {
        log(`  ${r.label.padEnd(48)} ${r.median.toFixed(3).padStart(8)} ${r.p95.toFixed(3).padStart(8)} ${r.perSec.toFixed(1).padStart(7)} ${(100 * r.accuracy).toFixed(2).padStart(6)} ${(r.flops / 1e6).toFixed(1).padStart(8)} ${r.speedup.toFixed(2).padStart(9)}`);
    }
}

const results = {
    command, date: new Date().toISOString(), node: process.version, cpu: os.cpus()[0]?.model, cores: os.cpus().length,
    ort: { web: (await import('onnxruntime-web')).env.versions, node: (await import('onnxruntime-node')).env.versions },
    loadBefore: loadavg(), exportReport: exportReport.trim(),
    models: Object.fromEntries(Object.entries(models).map(([k, m]) => [k, {
        path: m.path, source: m.source, bytes: m.bytes, standin: m.standin, producer: m.config.producer ?? null,
        hidden: m.config.hidden_size, layers: m.config.layers, vocab: m.config.vocab_size, threshold: m.config.keep_threshold,
    }])),
    inputs: { sst2: sst2.length, imdb: imdb.length, imdbStep, imdbTask: imdbTask.length, imdbTaskStep },
    imdbExportReport,
};

results.sst2 = await datasetPass('sst2', 16, 1000);
results.imdb = await datasetPass('imdb', 2, 1500);

// ---------------------------------------------------------------------------------------------
// fixed lengths: the dense teacher in every engine, interleaved rounds

{
    const dense = engines.filter((e) => ['onnx-f32', 'onnx-int8', 'teacher', 'teacher-i8'].includes(e.config.model));
    results.lengths = {};
    log(`\n== fixed lengths ${opts.lengths.join(', ')} (dense teacher; load average ${loadavg()})`);
    for (const T of opts.lengths) {
        const rand = rng(T);
        const x = teacherTokens.fixed[T];
        if (x.ids.length !== T) { log(`  T=${T}: skipped (the model takes ${x.ids.length})`); continue; }
        await warmUp(dense, () => [x], 3, 600);
        const times = new Map(dense.map((e) => [e, []]));
        const t0 = performance.now();
        let rounds = 0;
        // at least 15 rounds and 3 s, at most 300 rounds or 25 s
        while ((rounds < 15 || performance.now() - t0 < 3000) && rounds < 300 && performance.now() - t0 < 25000) {
            for (const e of shuffled(dense, rand)) {
                const s = performance.now();
                await e.run(x.ids, x.types);
                times.get(e).push(performance.now() - s);
            }
            rounds++;
        }
        const row = Object.fromEntries(dense.map((e) => [e.config.id, summarise(times.get(e))]));
        results.lengths[T] = row;
        log(`  T=${String(T).padEnd(4)} ${rounds} rounds: ` + dense.map((e) => `${e.config.id} ${row[e.config.id].median.toFixed(3)}`).join('  '));
    }
}
for (const e of engines) e.dispose();

// ---------------------------------------------------------------------------------------------
// the IMDb task: its teacher in every engine, its Infor-Coef model(s) in ours, interleaved

if (IMDB_CONFIGS.length) {
    log(`\nopening the IMDb task's ${IMDB_CONFIGS.length} configurations (load average ${loadavg()})`);
    const imdbEngines = await openAll(IMDB_CONFIGS);
    results.imdbTask = await datasetPass('imdbTask', 2, 1500, imdbEngines, imdbEngines.find((e) => e.config.id === 'imdb-ours-dense-f32'));
    for (const e of imdbEngines) e.dispose();
}

// ---------------------------------------------------------------------------------------------
// cold start and peak memory: fresh processes, one configuration each, interleaved

{
    log(`\n== cold start + peak memory: ${opts.cold} fresh processes per configuration`);
    const inputFiles = {};
    for (const [key, t] of Object.entries(tokens)) {
        const longest = t.sst2.reduce((a, b) => (b.ids.length > a.ids.length ? b : a));
        const long = t.fixed[Math.max(...opts.lengths)] ?? t.imdb[0];
        const f = at(`build/bench/cold-inputs-${key.replace(':', '-')}.json`);
        const plain = (x) => ({ ids: Array.from(x.ids), types: Array.from(x.types) });
        writeFileSync(f, JSON.stringify({ first: plain(t.sst2[0]), longest: plain(longest), long: plain(long) }));
        inputFiles[key] = f;
    }
    const runs = Object.fromEntries(CONFIGS.map((c) => [c.id, []]));
    for (let r = 0; r < opts.cold; r++) {
        for (const c of shuffled(CONFIGS, rng(100 + r))) {
            const m = models[c.model];
            const spec = { kind: c.kind, path: m.path, inputs: inputFiles[m.vocabKey] };
            const out = run(process.execPath, [path.join(here, 'cold-start.mjs'), JSON.stringify(spec)], `cold start of ${c.id}`);
            runs[c.id].push(JSON.parse(out.trim().split('\n').pop()));
        }
    }
    results.cold = {};
    for (const c of CONFIGS) {
        const rs = runs[c.id];
        const med = (f) => rs.map(f).sort((a, b) => a - b)[rs.length >> 1];
        const max = (f) => Math.max(...rs.map(f));
        results.cold[c.id] = {
            coldMs: med((x) => x.coldMs), coldAll: rs.map((x) => x.coldMs),
            coldMainCpuMs: rs[0].coldMainCpuMs === null ? null : med((x) => x.coldMainCpuMs), coldAllCpuMs: med((x) => x.coldAllCpuMs),
            wasmSst2: max((x) => x.wasmSst2), wasmLong: max((x) => x.wasmLong), longN: rs[0].longN,
            rssSst2: med((x) => x.rssSst2 - x.rssStart), rssLong: med((x) => x.rssLong - x.rssStart),
        };
        const k = results.cold[c.id];
        log(`  ${c.label.padEnd(48)} cold ${k.coldMs.toFixed(1).padStart(7)} ms (${k.coldAll.map((x) => x.toFixed(0)).join(', ')}), CPU main ${k.coldMainCpuMs?.toFixed(1)} all ${k.coldAllCpuMs.toFixed(1)} ms  ` +
            `wasm ${(k.wasmSst2 / MiB).toFixed(1)} / ${(k.wasmLong / MiB).toFixed(1)} MiB  RSS +${(k.rssSst2 / MiB).toFixed(1)} / +${(k.rssLong / MiB).toFixed(1)} MiB`);
    }
}

// ---------------------------------------------------------------------------------------------
// GEMM efficiency on the shapes of the measured models

if (opts.gemm) {
    const { gemmEfficiency } = await import('./gemm-efficiency.mjs');
    log(`\n== GEMM efficiency (load average ${loadavg()})`);
    const rowsOf = (role) => {
        if (role.startsWith('teacher')) return [Math.round(results.sst2.meanTokens), 64, 512];
        const r = results.sst2.rows.find((x) => x.model === models[role].path);
        const kept = r?.kept ?? [results.sst2.meanTokens];
        return [Math.max(1, Math.round(kept.reduce((a, b) => a + b, 0) / kept.length)), 64];
    };
    const list = ['teacher', 'teacher-i8', 'cofi', 'inforcoef', 'inforcoef-i8'].filter((r) => models[r]);
    results.gemm = await gemmEfficiency(list.map((role) => ({ label: role, path: models[role].path, rows: rowsOf(role) })), { log });
}

results.loadAfter = loadavg();
results.seconds = (Date.now() - started) / 1000;
mkdirSync(path.dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify(results, null, 1));
log(`\nresults: ${rel(opts.json)} (${results.seconds.toFixed(0)} s, load average before ${results.loadBefore}, after ${results.loadAfter})`);

if (opts.doc) {
    const { writeDoc } = await import('./report.mjs');
    writeDoc(results, { md: at('docs/benchmarks.md'), png: at('docs/benchmarks.png'), json: opts.json, python: PYTHON });
    log('wrote docs/benchmarks.md and docs/benchmarks.png');
}
