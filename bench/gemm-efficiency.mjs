// GEMM efficiency of our wasm kernels on the shapes real model files use, against the measured
// SIMD128 peaks of this Node on this machine (not part of npm test; needs ./build.sh):
//
//   node bench/gemm-efficiency.mjs [--rows 1,8,25,64] [--pairs 25] MODEL.safetensors...
//
// Kernels, all in build/wasm/bench.wasm (./build.sh links it from the objects of
// web/inforcoef.wasm's src/gemm.c plus these bench files, with the runtime's link flags):
//   bench_peak_f32x4(it, form, ch)     bench/gemm_wasm.c: f32x4.mul + f32x4.add on registers only,
//                                      the f32 ceiling (2 forms x 8-14 chains; the fastest counts)
//   bench_peak_i16x8_dot(it, form, ch) i32x4.dot_i16x8_s + i32x4.add the same way: the I8 ceiling
//   bench_gemm_f32(n, out, k, r)   bench/gemm_cases.c: the runtime's linear_forward (src/gemm.c) on
//                                  packed F32 weights, with bias, as every linear layer runs
//   bench_gemm_i8(n, out, k, r)    the same on I8 weights (row quantisation to int16 included)
//   direct_gemm_f32(n, out, k, r)  bench/gemm-direct.c: gemm_f32_packed called directly, as
//                                  src/forward.c runs the attention scores and context
// For each model and row count n: every distinct matrix product of its forward pass (fused QKV
// [3a, d], attention output [d, a], FFN in [f, d] and out [d, f], sampler dense1 [d, d], and the
// per-head attention products scores [n, n] x hs and context [hs, n] x n, which are f32 in every
// model). FLOPs count a multiply-add as 2 (I8: integer ops, the same count). An I8 model's linear
// layers are compared with the I8 peak, its attention products with the f32 one.
// A model's figure at n is its FLOP-weighted efficiency: the time its products would take at
// their peaks over the time they took (sum over products x their count per forward pass).
import { readFileSync, existsSync, statSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readModelFile } from '../web/model-file.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function instantiate(file) {
    const { instance } = await WebAssembly.instantiate(readFileSync(file), {
        env: { emscripten_notify_memory_growth: () => {}, ifc_now_ms: () => performance.now() },
    });
    instance.exports._initialize?.();
    return instance.exports;
}

// The matrix products of one forward pass at n rows: [{what, n, out, k, count}] (count per pass).
export function modelProducts(config, n) {
    const d = config.hidden_size, hs = config.head_size;
    const byShape = new Map();
    const add = (what, rows, out, k, count = 1) => {
        const key = `${rows}x${out}x${k}x${what.startsWith('attn s') || what.startsWith('attn c')}`;
        const e = byShape.get(key);
        if (e) { e.count += count; if (!e.what.includes(what)) e.what += `, ${what}`; } else byShape.set(key, { what, n: rows, out, k, count });
    };
    for (const l of config.layers) {
        if (l.sampler) add('sampler dense1', n - 1, d, d);
        if (l.heads > 0) {
            const a = l.heads * hs;
            add('QKV', n, 3 * a, d);
            add('attn scores', n, n, hs, l.heads);
            add('attn context', n, hs, n, l.heads);
            add('attn out', n, d, a);
        }
        if (l.ffn > 0) {
            add('FFN in', n, l.ffn, d);
            add('FFN out', n, d, l.ffn);
        }
    }
    return [...byShape.values()].filter((p) => p.n > 0);
}
export const isAttention = (p) => p.what.startsWith('attn scores') || p.what.startsWith('attn context');

// A benchmark module from a GEMM source (src/gemm.c or a variant of it, see bench/kernel-lab.mjs)
// compiled as ./build.sh compiles src/gemm.c, plus the bench sources; rebuilt when stale.
export function buildBenchModule(out, gemmSrc, flags = []) {
    const srcs = [gemmSrc, ...['gemm_wasm.c', 'gemm_cases.c', 'gemm-direct.c'].map((f) => path.join(root, 'bench', f))];
    const stamp = out + '.flags';
    const same = existsSync(out) && existsSync(stamp) && readFileSync(stamp, 'utf8') === JSON.stringify(flags) &&
        srcs.concat([path.join(root, 'src/ifc_internal.h')]).every((f) => statSync(f).mtimeMs <= statSync(out).mtimeMs);
    if (same) return out;
    mkdirSync(path.dirname(out), { recursive: true });
    const env = { ...process.env, NODE_PATH: '/usr/share/nodejs' + (process.env.NODE_PATH ? ':' + process.env.NODE_PATH : '') };
    const exp = ['malloc', 'free', 'bench_peak_f32x4', 'bench_peak_i16x8_dot', 'bench_gemm_f32', 'bench_gemm_i8', 'direct_gemm_f32'];
    const objs = srcs.map((s, i) => `${out}.${i}.o`);
    // compile and link flags as ./build.sh builds web/inforcoef.wasm (EMFLAGS, RUNTIME_LINK)
    const steps = srcs.map((s, i) => ['emcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-O3', '-msimd128', '-mbulk-memory', ...flags, '-I' + path.join(root, 'src'), '-c', s, '-o', objs[i]]]);
    steps.push(['emcc', ['-O3', '-msimd128', '-mbulk-memory', '--no-entry', '-sSTANDALONE_WASM', '-sALLOW_MEMORY_GROWTH=1',
        '-sMALLOC=emmalloc', '-sBINARYEN_EXTRA_PASSES=--one-caller-inline-max-function-size=20', ...objs,
        `-sEXPORTED_FUNCTIONS=[${exp.map((e) => `"_${e}"`).join(',')}]`, '-o', out]]);
    for (const [cmd, args] of steps) {
        const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stdout ?? ''}${r.stderr ?? r.error}`);
    }
    spawnSync('sh', ['-c', `printf '%s' '${JSON.stringify(flags)}' > '${stamp}'`]);
    return out;
}

// Timing on shared cores. With other jobs on these 2 cores, speed is bimodal and changes within
// a second (a job on the sibling hyperthread halves either kernel; a preemption ruins a chunk).
// So every kernel is timed in equal short chunks (~chunkMs), the chunks of the kernels being
// compared and of the peak kernel are interleaved in a shuffled order, and each keeps its best
// chunk: the ratios are between the quietest moments of each, taken seconds apart at most.
// peak kernel variants [form, chains] (bench/gemm_wasm.c)
const CHAINS = [0, 1].flatMap((form) => [8, 10, 12, 14].map((ch) => [form, ch]));
const variantName = ([form, ch]) => `${form ? 'acc += x*b' : 'x = x*m + c'}, ${ch} chains`;
export function chunkTimer(b, chunkMs = 2) {
    const peaks = {
        f32: { raw: (it, [form, ch]) => b.bench_peak_f32x4(it, form, ch), ops: 8, chains: [0, 12], iters: 1 },
        i8: { raw: (it, [form, ch]) => b.bench_peak_i16x8_dot(it, form, ch), ops: 16, chains: [0, 12], iters: 1 },
    };
    const best = { f32: 0, i8: 0 };
    // repetitions of fn for ~chunkMs
    const calibrate = (fn) => {
        let reps = 1;
        for (;;) { const s = performance.now(); fn(reps); const ms = performance.now() - s; if (ms >= chunkMs || reps >= 1 << 24) return reps; reps = ms > chunkMs / 8 ? Math.ceil(reps * chunkMs / ms) : reps * 4; }
    };
    const timed = (fn, reps) => { const s = performance.now(); fn(reps); return performance.now() - s; };
    const self = {
        best,
        // V8 runs wasm in its baseline compiler (Liftoff) first and tiers up after enough calls
        warm(m = b, ms = 400) {
            const t0 = performance.now();
            while (performance.now() - t0 < ms) {
                for (const [form, ch] of CHAINS) { m.bench_peak_f32x4(2000, form, ch); m.bench_peak_i16x8_dot(2000, form, ch); }
                m.bench_gemm_f32(32, 64, 64, 1); m.bench_gemm_i8(32, 64, 64, 1); m.direct_gemm_f32(32, 64, 64, 1);
                m.bench_gemm_f32(5, 32, 61, 1); m.bench_gemm_i8(5, 32, 61, 1); m.direct_gemm_f32(3, 64, 61, 1);
            }
            // the variant that runs fastest here (see bench/gemm_wasm.c), best of 10 chunks each
            for (const p of Object.values(peaks)) {
                let bestRate = 0;
                for (const ch of CHAINS) {
                    const it = calibrate((i) => p.raw(i, ch));
                    for (let i = 0; i < 10; i++) {
                        const r = (p.ops * ch[1] * it) / (timed((x) => p.raw(x, ch), it) * 1e6);
                        if (r > bestRate) { bestRate = r; p.chains = ch; }
                    }
                }
                p.fn = (it) => p.raw(it, p.chains);
                p.iters = calibrate(p.fn);
                best[p === peaks.f32 ? 'f32' : 'i8'] = Math.max(best[p === peaks.f32 ? 'f32' : 'i8'], bestRate);
            }
        },
        chains: () => ({ f32: peaks.f32.chains, i8: peaks.i8.chains }),
        // fns: [(reps) => ...] doing `flop` FLOPs per rep; returns {rates: best GFLOP/s of each, peak:
        // best GFLOP/s of the `kind` peak in the same rounds}
        compare(fns, flop, kind, pairs = 25) {
            const reps = fns.map((fn) => { fn(1); return calibrate(fn); });
            const rates = fns.map(() => 0), pk = peaks[kind];
            let peak = 0;
            const jobs = [-1, ...fns.keys()];
            for (let i = 0; i < pairs; i++) {
                for (let j = jobs.length - 1; j > 0; j--) { const x = Math.floor(Math.random() * (j + 1)); [jobs[j], jobs[x]] = [jobs[x], jobs[j]]; }
                for (const j of jobs) {
                    if (j < 0) peak = Math.max(peak, (pk.ops * pk.chains[1] * pk.iters) / (timed(pk.fn, pk.iters) * 1e6));
                    else rates[j] = Math.max(rates[j], (flop * reps[j]) / (timed(fns[j], reps[j]) * 1e6));
                }
            }
            best[kind] = Math.max(best[kind], peak);
            return { rates, peak };
        },
    };
    return self;
}

// models: [{label, path, rows?}]; rows: n values (a model's own rows, if given, instead). Returns
// {peak, peakI8, module, node, models: [{label, path, dtype, runs: [{n, products: [{what, n, out,
// k, count, kind, gflops, efficiency}], weighted, efficiency}]}]}. Peaks are the best chunk of the
// whole run; every efficiency is against the peak of the product's kind (f32 or i8).
export async function gemmEfficiency(models, { rows = [1, 8, 25, 64], pairs = 25, chunkMs = 2, log = () => {} } = {}) {
    const file = path.join(root, 'build/wasm/bench.wasm');
    if (!existsSync(file)) throw new Error(`${path.relative(root, file)} missing: run ./build.sh`);
    const b = await instantiate(file);
    if (!b.direct_gemm_f32 || !b.bench_peak_i16x8_dot) throw new Error(`${path.relative(root, file)} is out of date: run ./build.sh wasm`);
    const t = chunkTimer(b, chunkMs);
    t.warm();
    const out = { peak: 0, peakI8: 0, module: path.relative(root, file), node: process.version, models: [] };
    for (const m of models) {
        const info = readModelFile(new Uint8Array(readFileSync(m.path)));
        const i8 = info.tensors.some((x) => x.dtype === 'I8');
        const entry = { label: m.label, path: m.path, dtype: i8 ? 'I8' : 'F32', runs: [] };
        for (const n of (m.rows ?? rows).filter((r) => r <= info.config.max_position)) {
            const products = modelProducts(info.config, n);
            for (const p of products) {
                const fn = isAttention(p) ? b.direct_gemm_f32 : i8 ? b.bench_gemm_i8 : b.bench_gemm_f32;
                p.kind = i8 && !isAttention(p) ? 'i8' : 'f32';
                p.gflops = t.compare([(reps) => fn(p.n, p.out, p.k, reps)], 2 * p.n * p.out * p.k, p.kind, pairs).rates[0];
            }
            entry.runs.push({ n, products });
        }
        out.models.push(entry);
    }
    out.peak = t.best.f32;
    out.peakI8 = t.best.i8;
    out.peakChains = t.chains();
    log(`SIMD128 peaks, best ~${chunkMs} ms chunk of the run: f32x4 mul+add ${out.peak.toFixed(1)} GFLOP/s (${variantName(out.peakChains.f32)}), i32x4.dot_i16x8_s+add ${out.peakI8.toFixed(1)} GOP/s (${variantName(out.peakChains.i8)}); kernels from ${out.module}`);
    for (const m of out.models) {
        for (const run of m.runs) {
            let flop = 0, ms = 0, msAtPeak = 0;
            for (const p of run.products) {
                const peak = p.kind === 'i8' ? out.peakI8 : out.peak, f = 2 * p.n * p.out * p.k * p.count;
                p.efficiency = p.gflops / peak;
                flop += f; ms += f / (p.gflops * 1e6); msAtPeak += f / (peak * 1e6);
            }
            run.weighted = flop / (ms * 1e6);
            run.efficiency = msAtPeak / ms;
            log(`  ${m.label} (${m.dtype}) n=${run.n}: ${run.weighted.toFixed(1)} G${m.dtype === 'I8' ? 'OP' : 'FLOP'}/s, ${(100 * run.efficiency).toFixed(0)}% of the peak (FLOP-weighted)`);
            for (const p of run.products)
                log(`    ${p.what.padEnd(28)} [${p.n} x ${p.k}] x [${p.k} x ${p.out}]  x${p.count}  ${p.kind.padEnd(3)} ${p.gflops.toFixed(1).padStart(6)} G/s  ${(100 * p.efficiency).toFixed(0).padStart(3)}%`);
        }
    }
    return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
    const argv = process.argv.slice(2);
    let rows = [1, 8, 25, 64], pairs = 25;
    const files = [];
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === '--rows') rows = argv[++i].split(',').map(Number);
        else if (argv[i] === '--pairs') pairs = Number(argv[++i]);
        else files.push(argv[i]);
    }
    if (files.length === 0) { console.error('usage: node bench/gemm-efficiency.mjs [--rows 1,8,25,64] [--pairs 25] MODEL.safetensors...'); process.exit(2); }
    await gemmEfficiency(files.map((f) => ({ label: path.basename(f), path: f })), { rows, pairs, log: (s) => console.log(s) });
}
