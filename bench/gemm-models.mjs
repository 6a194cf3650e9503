// Random inforcoef model files for the benchmark (docs/model-format.md), large enough for
// 512-token inputs (the golden fixtures stop at 48). Random weights: only shapes and the token
// samplers' keep rate matter for speed.
//
//   dense-512    d 256, 4 layers x (4 heads of 64, FFN 1024), no samplers
//   sampled-512  d 256, CoFi-style pruned layers (heads 4/3/2/2, FFN 1024/768/512/384) with
//                token samplers before layers 1-3 that keep about half the rows each
// each as F32 and I8. Usage: node bench/gemm-models.mjs [outdir]   (default build/bench)
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const D = 256, HS = 64, P = 512, V = 8000;
export const BENCH_MODELS = {
  'dense-512': [[4, 1024, false], [4, 1024, false], [4, 1024, false], [4, 1024, false]],
  'sampled-512': [[4, 1024, false], [3, 768, true], [2, 512, true], [2, 384, true]],
};

function rng(seed) { // xorshift32 -> uniform [-1, 1)
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2147483648 - 1;
  };
}

function tensors(layers, rand) {
  const t = []; // [name, shape, Float32Array]
  const fill = (n, a) => Float32Array.from({ length: n }, () => a * rand());
  const ones = (n) => new Float32Array(n).fill(1);
  const add = (name, shape, data) => t.push([name, shape, data]);
  add('embeddings.word_embeddings.weight', [V, D], fill(V * D, 0.1));
  add('embeddings.position_embeddings.weight', [P, D], fill(P * D, 0.1));
  add('embeddings.token_type_embeddings.weight', [2, D], fill(2 * D, 0.1));
  add('embeddings.LayerNorm.weight', [D], ones(D));
  add('embeddings.LayerNorm.bias', [D], new Float32Array(D));
  const linear = (name, out, inp) => {
    add(`${name}.weight`, [out, inp], fill(out * inp, Math.sqrt(3 / inp)));
    add(`${name}.bias`, [out], fill(out, 0.02));
  };
  const norm = (name) => { add(`${name}.weight`, [D], ones(D)); add(`${name}.bias`, [D], new Float32Array(D)); };
  layers.forEach(([heads, ffn, sampler], i) => {
    const p = `encoder.layer.${i}.`;
    if (sampler) {
      norm(p + 'sampler.ln1');
      linear(p + 'sampler.dense1', D, D);
      norm(p + 'sampler.ln2');
      // keep - drop = v . GELU(...): v sums to zero so the GELU's positive mean cancels and the
      // decision at threshold 0 splits the rows about evenly
      const v = fill(D, 0.2);
      const mean = v.reduce((a, b) => a + b, 0) / D;
      const w = new Float32Array(2 * D);
      for (let j = 0; j < D; j++) w[D + j] = v[j] - mean;
      add(p + 'sampler.dense2.weight', [2, D], w);
      add(p + 'sampler.dense2.bias', [2], new Float32Array(2));
    }
    if (heads > 0) {
      const a = heads * HS;
      for (const proj of ['query', 'key', 'value']) linear(`${p}attention.self.${proj}`, a, D);
      linear(p + 'attention.output.dense', D, a);
      norm(p + 'attention.output.LayerNorm');
    }
    if (ffn > 0) {
      linear(p + 'intermediate.dense', ffn, D);
      linear(p + 'output.dense', D, ffn);
      norm(p + 'output.LayerNorm');
    }
  });
  linear('pooler.dense', D, D);
  linear('classifier', 2, D);
  return t;
}

// [name, shape, Float32Array] -> [name, shape, dtype, bytes], I8 with per-row scales
function encodeTensors(list, dtype) {
  const out = [];
  for (const [name, shape, data] of list) {
    if (shape.length === 1 || dtype === 'f32') {
      out.push([name, shape, 'F32', new Uint8Array(data.buffer)]);
      continue;
    }
    const [rows, cols] = shape;
    const q = new Int8Array(rows * cols), scale = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      let amax = 0;
      for (let c = 0; c < cols; c++) amax = Math.max(amax, Math.abs(data[r * cols + c]));
      scale[r] = amax > 0 ? amax / 127 : 1;
      for (let c = 0; c < cols; c++) q[r * cols + c] = Math.max(-127, Math.min(127, Math.round(data[r * cols + c] / scale[r])));
    }
    out.push([name, shape, 'I8', new Uint8Array(q.buffer)]);
    out.push([`${name}_scale`, [rows], 'F32', new Uint8Array(scale.buffer)]);
  }
  return out;
}

export function makeModel(name, dtype, seed = 1) {
  const layers = BENCH_MODELS[name];
  const entries = encodeTensors(tensors(layers, rng(seed)), dtype);
  const config = {
    format_version: 1, hidden_size: D, head_size: HS, max_position: P, type_vocab_size: 2, vocab_size: V,
    layer_norm_eps: 1e-12, do_lower_case: true, labels: ['negative', 'positive'], task: 'benchmark',
    keep_threshold: 0.0, layers: layers.map(([heads, ffn, sampler]) => ({ heads, ffn, sampler })),
    special_tokens: { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]' },
    producer: 'bench/gemm-models.mjs (random weights)',
  };
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  while (vocab.length < V) vocab.push(`tok${vocab.length}`);
  const header = { __metadata__: { format: 'inforcoef', config: JSON.stringify(config), vocab: vocab.join('\n') } };
  let offset = 0;
  for (const [n, shape, dt, bytes] of entries) {
    header[n] = { dtype: dt, shape, data_offsets: [offset, offset + bytes.length] };
    offset += Math.ceil(bytes.length / 8) * 8; // 8-byte aligned, as the exporter does
  }
  let json = Buffer.from(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const file = Buffer.alloc(8 + padded + offset);
  file.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(file, 8);
  for (const [n, , , bytes] of entries) file.set(bytes, 8 + padded + header[n].data_offsets[0]);
  return file;
}

// Writes the four files if missing; returns {name.dtype: path}.
export function ensureBenchModels(dir) {
  mkdirSync(dir, { recursive: true });
  const paths = {};
  for (const name of Object.keys(BENCH_MODELS)) {
    for (const dtype of ['f32', 'i8']) {
      const p = path.join(dir, `${name}.${dtype}.safetensors`);
      if (!existsSync(p)) writeFileSync(p, makeModel(name, dtype));
      paths[`${name}.${dtype}`] = p;
    }
  }
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'build/bench';
  for (const [k, p] of Object.entries(ensureBenchModels(dir))) console.log(`${k}: ${p}`);
}
