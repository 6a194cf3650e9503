// Times the tile variants of bench/kernel-lab.c side by side (bench only; see that file):
//   node bench/kernel-lab.mjs        (after building build/bench/kernel-lab.wasm, command in kernel-lab.c)
// Prints GFLOP/s per variant and shape, best of 5 interleaved rounds, and the SIMD128 peak of
// build/wasm/bench.wasm measured in the same rounds.
import { readFileSync } from 'node:fs';

const env = { env: { emscripten_notify_memory_growth: () => {}, ifc_now_ms: () => performance.now() } };
const inst = async (f) => { const { instance } = await WebAssembly.instantiate(readFileSync(f), env); instance.exports._initialize?.(); return instance.exports; };
const lab = await inst('build/bench/kernel-lab.wasm');
const bench = await inst('build/wasm/bench.wasm');
const NAMES = ['4x8 bare', '4x8 k4 shuffle-splat', '6x8 k4 shuffle-splat', '5x8 k4 shuffle-splat', '3x16', '4x8 k4 load-splat'];
const SHAPES = [[24, 768, 256], [24, 1024, 256], [24, 256, 1024], [60, 768, 256], [60, 1024, 256], [60, 256, 1024], [480, 1024, 256]];
function timeIt(fn, minMs = 30) {
  for (let reps = 1; ; reps *= 2) { const t0 = performance.now(); fn(reps); const ms = performance.now() - t0; if (ms >= minMs) return ms / reps; }
}
const t0 = performance.now();
while (performance.now() - t0 < 500) { for (let v = 0; v < NAMES.length; v++) lab.lab_gemm(v, 24, 48, 64, 1); bench.bench_peak_f32x4(10000); }
const best = {};
let peak = 0;
for (let round = 0; round < 5; round++) {
  const it = 2e6, s = performance.now(); bench.bench_peak_f32x4(it); peak = Math.max(peak, 96 * it / ((performance.now() - s) * 1e6));
  for (const [n, out, k] of SHAPES) for (let v = 0; v < NAMES.length; v++) {
    const ms = timeIt((r) => lab.lab_gemm(v, n, out, k, r));
    const g = 2 * n * out * k / (ms * 1e6), key = `${n}x${out}x${k}/${v}`;
    best[key] = Math.max(best[key] ?? 0, g);
  }
}
console.log(`SIMD128 peak ${peak.toFixed(1)} GFLOP/s (best of 5)`);
console.log('shape n x out x k'.padEnd(20) + NAMES.map((s) => s.padStart(22)).join(''));
for (const [n, out, k] of SHAPES) {
  console.log(`${n}x${out}x${k}`.padEnd(20) + NAMES.map((_, v) => { const g = best[`${n}x${out}x${k}/${v}`]; return `${g.toFixed(1)} (${(100 * g / peak).toFixed(0)}%)`.padStart(22); }).join(''));
}
