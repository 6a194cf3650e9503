// Benchmark (not a test): node bench/gemm.mjs   (after ./build.sh)
// Prints, for WebAssembly (this Node) and natively (build/native/bench_native, if built):
//   - the SIMD128 peak: pure f32x4 mul+add throughput (12 independent chains),
//   - GFLOP/s of the runtime's GEMM (src/gemm.c, f32 and I8) on encoder-sized shapes,
//   - ms per classification of the dense and sampled golden fixtures (max length 48, so only 16)
//     and of random 512-position models (bench/gemm-models.mjs) at lengths 16/64/128/512.
// Everything runs on one thread. Figures vary with machine load: quote them with the command.
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBenchModels } from './gemm-models.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const at = (p) => path.join(root, p);
const LENGTHS = [16, 64, 128, 512];
const SHAPES = [[16, 256, 256], [128, 256, 256], [128, 1024, 256], [128, 256, 1024], [512, 768, 768], [512, 3072, 768]];

async function instantiate(file) {
  const { instance } = await WebAssembly.instantiate(readFileSync(file), {
    env: { emscripten_notify_memory_growth: () => {}, ifc_now_ms: () => performance.now() },
  });
  if (instance.exports._initialize) instance.exports._initialize();
  return instance.exports;
}

// Repeat fn(reps) with growing reps until one run takes >= minMs; returns ms per rep.
function timeIt(fn, minMs = 150) {
  for (let reps = 1; ; reps *= 2) {
    const t0 = performance.now();
    fn(reps);
    const ms = performance.now() - t0;
    if (ms >= minMs || reps >= 1 << 16) return ms / reps;
  }
}

// V8 first runs wasm functions in its baseline compiler (Liftoff) and swaps in optimised code
// after enough calls: every measurement below follows ~0.3 s of warm-up calls.
function warmUp(fn, ms = 300) {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) fn();
}

async function wasmKernels() {
  const b = await instantiate(at('build/wasm/bench.wasm'));
  warmUp(() => { b.bench_peak_f32x4(10000, 0, 12); b.bench_gemm_f32(32, 64, 64, 1); b.bench_gemm_i8(32, 64, 64, 1); });
  const iters = 20000000;
  const t0 = performance.now();
  b.bench_peak_f32x4(iters, 0, 12);
  const peak = (96 * iters) / ((performance.now() - t0) * 1e6);
  console.log(`wasm peak f32x4 mul+add (SIMD128, 12 chains)  ${peak.toFixed(1).padStart(7)} GFLOP/s  (bench/gemm-efficiency.mjs: best of 8-14 chains)`);
  console.log('GEMM y[n,out] = x[n,k] W^T + b      f32 GFLOP/s   i8 GFLOP/s   (wasm)');
  for (const [n, out, k] of SHAPES) {
    const flop = 2 * n * out * k;
    b.bench_gemm_f32(n, out, k, 1);
    const f32 = flop / (timeIt((r) => b.bench_gemm_f32(n, out, k, r)) * 1e6);
    b.bench_gemm_i8(n, out, k, 1);
    const i8 = flop / (timeIt((r) => b.bench_gemm_i8(n, out, k, r)) * 1e6);
    console.log(`  n=${String(n).padEnd(4)} out=${String(out).padEnd(5)} k=${String(k).padEnd(5)}            ${f32.toFixed(1).padStart(8)}     ${i8.toFixed(1).padStart(8)}`);
  }
}

async function wasmClassify(models) {
  const x = await instantiate(at('web/inforcoef.wasm'));
  const mem = () => x.memory.buffer;
  const err = () => {
    const u8 = new Uint8Array(mem());
    let p = x.ifc_last_error(), e = p;
    while (u8[e]) e++;
    return new TextDecoder().decode(u8.subarray(p, e));
  };
  console.log('classification, wasm (ms per call)');
  for (const file of models) {
    const buf = readFileSync(file);
    const p = x.malloc(buf.length);
    new Uint8Array(mem(), p, buf.length).set(buf);
    const out = x.malloc(4);
    if (x.ifc_model_load(p, buf.length, out) !== 0) { console.log(`  ${file}: ${err()}`); continue; }
    const m = new Uint32Array(mem(), out, 1)[0];
    x.free(p);
    const ids = x.malloc(4 * 512), types = x.malloc(4 * 512), logits = x.malloc(4 * 64);
    const I = new Int32Array(mem(), ids, 512);
    for (let j = 0; j < 512; j++) I[j] = j === 0 ? 2 : 5 + ((j * 37) % 100); // same ids as the native bench
    new Int32Array(mem(), types, 512).fill(0);
    const name = path.basename(file);
    warmUp(() => x.ifc_classify(m, ids, types, Math.min(16, x.ifc_max_length(m)), logits));
    for (const n of LENGTHS) {
      if (n > x.ifc_max_length(m)) { console.log(`  ${name.padEnd(28)} n=${String(n).padEnd(4)} skipped (max length ${x.ifc_max_length(m)})`); continue; }
      x.ifc_classify(m, ids, types, n, logits); // warm-up
      const times = [];
      const start = performance.now();
      while (times.length < 200 && (times.length < 5 || performance.now() - start < 400)) {
        const t0 = performance.now();
        if (x.ifc_classify(m, ids, types, n, logits) !== 0) throw new Error(err());
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const med = times[times.length >> 1];
      const kept = Array.from({ length: x.ifc_num_layers(m) }, (_, i) => x.ifc_stat_kept(m, i)).join(',');
      const gflop = x.ifc_stat_flops_f64(m) / 1e9;
      console.log(`  ${name.padEnd(28)} n=${String(n).padEnd(4)} ${med.toFixed(3).padStart(9)} ms  (median of ${String(times.length).padStart(3)})  kept [${kept}]  ${gflop.toFixed(3)} GFLOP -> ${(gflop / (med / 1e3)).toFixed(1)} GFLOP/s`);
    }
    x.free(ids); x.free(types); x.free(logits); x.free(out);
    x.ifc_model_free(m);
  }
}

for (const f of ['build/wasm/bench.wasm', 'web/inforcoef.wasm']) {
  if (!existsSync(at(f))) { console.error(`${f} missing: run ./build.sh`); process.exit(1); }
}
const generated = ensureBenchModels(at('build/bench'));
const models = [at('tests/fixtures/dense.f32.safetensors'), at('tests/fixtures/sampled.f32.safetensors'),
  generated['dense-512.f32'], generated['sampled-512.f32'], generated['dense-512.i8'], generated['sampled-512.i8']];
console.log(`== WebAssembly (Node ${process.version}, one thread)`);
await wasmKernels();
await wasmClassify(models);
const native = at('build/native/bench_native');
if (existsSync(native)) {
  console.log('\n== native (build/native/bench_native, -O3 -march=native, one thread)');
  const r = spawnSync(native, models, { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
} else {
  console.log('\n(native benchmark not built: ./build.sh native)');
}
