// GEMM kernel laboratory (bench only): variants of src/gemm.c timed side by side, in one process,
// on the matrix products of real model files, against the two SIMD128 peaks of bench/gemm_wasm.c.
//
//   node bench/kernel-lab.mjs [--rows 1,8,25] [--pairs 15] [--variant NAME=FILE.c[:CFLAGS]]... MODEL...
//
// Each variant is FILE.c (a copy of src/gemm.c, e.g. `git show REV:src/gemm.c > /tmp/old.c`, or
// src/gemm.c itself with -D flags such as -DGEMM_WASM_MR=5) compiled like ./build.sh compiles
// src/gemm.c and linked with bench/gemm_wasm.c, bench/gemm_cases.c and bench/gemm-direct.c into
// build/bench/lab-NAME.wasm. Default variants: `now` = src/gemm.c. For each product, every round
// times a ~2 ms chunk of each variant and of the matching peak, in a shuffled order; each keeps its
// best chunk (bench/gemm-efficiency.mjs explains why: these cores are shared). Prints GFLOP/s (I8:
// GOP/s, a multiply-add = 2) and % of the peak for each variant, and the FLOP-weighted total per
// model and n.
import { readFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelFile } from '../web/model-file.js';
import { modelProducts, isAttention, buildBenchModule, instantiate, chunkTimer } from './gemm-efficiency.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
let rows = [1, 8, 25], pairs = 15;
const variants = [], files = [];
for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--rows') rows = argv[++i].split(',').map(Number);
    else if (argv[i] === '--pairs') pairs = Number(argv[++i]);
    else if (argv[i] === '--variant') {
        const [name, spec] = argv[++i].split('=');
        const [file, flags = ''] = spec.split(':');
        variants.push({ name, file, flags: flags.split(/\s+/).filter(Boolean) });
    } else files.push(argv[i]);
}
if (files.length === 0) { console.error('usage: node bench/kernel-lab.mjs [--rows 1,8,25] [--pairs 15] [--variant NAME=FILE.c[:CFLAGS]]... MODEL...'); process.exit(2); }
if (variants.length === 0) variants.push({ name: 'now', file: 'src/gemm.c', flags: [] });
mkdirSync(path.join(root, 'build/bench'), { recursive: true });
for (const v of variants) v.b = await instantiate(buildBenchModule(path.join(root, `build/bench/lab-${v.name}.wasm`), path.resolve(v.file), v.flags));
const t = chunkTimer(variants[0].b, 2);
for (const v of variants) t.warm(v.b);
const summary = []; // {model, dtype, n, per variant: products [{flop, rate, kind}]}
for (const f of files) {
    const info = readModelFile(new Uint8Array(readFileSync(f)));
    const i8 = info.tensors.some((x) => x.dtype === 'I8');
    for (const n of rows) {
        const products = modelProducts(info.config, n);
        const tot = variants.map(() => ({ flop: 0, ms: 0, atPeak: 0 }));
        const entry = { model: path.basename(f), dtype: i8 ? 'I8' : 'F32', n, runs: variants.map(() => []) };
        summary.push(entry);
        console.log(`${path.basename(f)} (${i8 ? 'I8' : 'F32'}) n=${n}`);
        for (const p of products) {
            const attn = isAttention(p);
            const kind = i8 && !attn ? 'i8' : 'f32';
            const fns = variants.map((v) => (attn ? v.b.direct_gemm_f32 : i8 ? v.b.bench_gemm_i8 : v.b.bench_gemm_f32));
            const r = t.compare(fns.map((fn) => (reps) => fn(p.n, p.out, p.k, reps)), 2 * p.n * p.out * p.k, kind, pairs);
            const f = 2 * p.n * p.out * p.k * p.count;
            r.rates.forEach((g, i) => entry.runs[i].push({ flop: f, rate: g, kind }));
            const cells = r.rates.map((g, i) => { tot[i].flop += f; tot[i].ms += f / (g * 1e6); tot[i].atPeak += f / (r.peak * 1e6); return `${g.toFixed(1).padStart(6)} ${(100 * g / r.peak).toFixed(0).padStart(3)}%`; });
            console.log(`  ${p.what.padEnd(26).slice(0, 26)} [${p.n} x ${p.k}] x [${p.k} x ${p.out}] x${p.count}`.padEnd(66) + `${kind.padEnd(4)}` + cells.join('   '));
        }
        console.log(`  FLOP-weighted (time at the peaks / time taken):`.padEnd(70) + tot.map((x) => `${(x.flop / (x.ms * 1e6)).toFixed(1).padStart(6)} ${(100 * x.atPeak / x.ms).toFixed(0).padStart(3)}%`).join('   ') + `   [${variants.map((v) => v.name).join(', ')}]`);
    }
}
// Summary against the best peaks of the whole run (as bench/gemm-efficiency.mjs reports them).
console.log(`\npeaks, best chunk of the run: f32 ${t.best.f32.toFixed(1)} GFLOP/s, i8 ${t.best.i8.toFixed(1)} GOP/s`);
console.log('| model | dtype | n | ' + variants.map((v) => `${v.name} G/s | ${v.name} % of peak`).join(' | ') + ' |');
console.log('|---|---|--:|' + variants.map(() => '--:|--:|').join(''));
for (const e of summary) {
    const cells = e.runs.map((ps) => {
        let flop = 0, ms = 0, atPeak = 0;
        for (const p of ps) { flop += p.flop; ms += p.flop / (p.rate * 1e6); atPeak += p.flop / (t.best[p.kind] * 1e6); }
        return `${(flop / (ms * 1e6)).toFixed(1)} | ${(100 * atPeak / ms).toFixed(0)}%`;
    });
    console.log(`| ${e.model} | ${e.dtype} | ${e.n} | ${cells.join(' | ')} |`);
}
