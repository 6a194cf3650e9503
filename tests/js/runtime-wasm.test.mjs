// The WebAssembly build of the C runtime (web/inforcoef.wasm, built by ./build.sh) against the
// golden fixtures of the reference (tests/fixtures/*.json): every case of every fixture for every
// dtype, with the native runner's tolerances (tests/c/test_golden.c):
//   |logit - reference| <= tol * max(1, |reference|), tol = 1e-4 for F32 and F16, 2e-3 for I8 and I4;
//   kept counts and FLOPs exactly.
// The module is instantiated directly here (a minimal loader); the product's loader is in web/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wasmPath = path.join(root, 'web/inforcoef.wasm');
const fixtures = process.env.IFC_FIXTURES ?? path.join(root, 'tests/fixtures');
const FIXTURES = ['dense', 'pruned', 'sampled'];
const DTYPES = ['f32', 'f16', 'i8', 'i4'];
const TOL = { f32: 1e-4, f16: 1e-4, i8: 2e-3, i4: 2e-3 };
const IFC_ERR_ARG = 1;
const IFC_ERR_FORMAT = 2;

// Python's json writes Infinity / -Infinity / NaN for non-finite floats; JSON.parse does not
// accept them, so they are quoted first and turned back into numbers.
function readFixtureJson(file) {
  const text = readFileSync(file, 'utf8').replace(/([:\[,]\s*)(-?Infinity|NaN)(?=\s*[,\]}])/g, '$1"$2"');
  return JSON.parse(text, (k, v) => (v === 'Infinity' || v === '-Infinity' || v === 'NaN' ? Number(v) : v));
}

async function instantiate() {
  const bytes = readFileSync(wasmPath);
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: {
      emscripten_notify_memory_growth: () => {},
      ifc_now_ms: () => performance.now(),
    },
  });
  const x = instance.exports;
  if (x._initialize) x._initialize(); // reactor module: runs the C library's constructors
  const mem = () => x.memory.buffer; // re-read after every call that may grow memory
  const cstring = (ptr) => {
    const u8 = new Uint8Array(mem());
    let end = ptr;
    while (u8[end] !== 0) end++;
    return new TextDecoder().decode(u8.subarray(ptr, end));
  };
  return {
    x,
    lastError: () => cstring(x.ifc_last_error()),
    load(buf) {
      const ptr = x.malloc(Math.max(buf.length, 1));
      new Uint8Array(mem(), ptr, buf.length).set(buf);
      const out = x.malloc(4);
      const status = x.ifc_model_load(ptr, buf.length, out);
      const handle = new Uint32Array(mem(), out, 1)[0];
      x.free(out);
      x.free(ptr); // the model keeps its own copies
      return { status, handle };
    },
    classify(handle, ids, types) {
      const n = ids.length, L = Math.max(x.ifc_num_labels(handle), 1);
      const pIds = x.malloc(4 * Math.max(n, 1)), pTypes = x.malloc(4 * Math.max(n, 1)), pOut = x.malloc(4 * L);
      new Int32Array(mem(), pIds, n).set(ids);
      new Int32Array(mem(), pTypes, n).set(types);
      const status = x.ifc_classify(handle, pIds, pTypes, n, pOut);
      const logits = Array.from(new Float32Array(mem(), pOut, L));
      x.free(pIds); x.free(pTypes); x.free(pOut);
      return { status, logits };
    },
  };
}

const rt = existsSync(wasmPath) ? await instantiate() : null;

test('web/inforcoef.wasm is built and imports only env.emscripten_notify_memory_growth and env.ifc_now_ms', () => {
  assert.ok(rt, `${wasmPath} missing: run ./build.sh`);
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(wasmPath)))
    .map((i) => `${i.module}.${i.name}`).sort();
  assert.deepEqual(imports, ['env.emscripten_notify_memory_growth', 'env.ifc_now_ms']);
});

for (const name of FIXTURES) {
  const jsonPath = path.join(fixtures, `${name}.json`);
  if (!existsSync(jsonPath)) {
    test(`golden ${name}`, () => assert.fail(`fixture ${jsonPath} missing`));
    continue;
  }
  const fx = readFixtureJson(jsonPath);
  for (const dtype of DTYPES) {
    let model = null;
    let defaultThreshold = 0;
    test(`golden ${name}.${dtype} load`, () => {
      assert.ok(rt, 'wasm module not built');
      const { status, handle } = rt.load(readFileSync(path.join(fixtures, fx.files[dtype])));
      assert.equal(status, 0, rt.lastError());
      model = handle;
      defaultThreshold = rt.x.ifc_get_threshold(handle); // the file's keep_threshold
    });
    for (const c of fx.cases) {
      test(`golden ${name}.${dtype} ${c.name}`, () => {
        assert.ok(model, 'model did not load');
        const x = rt.x;
        const exp = c.expected[dtype];
        x.ifc_set_threshold(model, c.threshold === null || c.threshold === undefined ? defaultThreshold : c.threshold);
        const { status, logits } = rt.classify(model, c.ids, c.types);
        assert.equal(status, 0, rt.lastError());
        assert.equal(logits.length, exp.logits.length);
        exp.logits.forEach((ref, i) => {
          const err = Math.abs(logits[i] - ref) / Math.max(1, Math.abs(ref));
          assert.ok(err <= TOL[dtype], `logit ${i} = ${logits[i]}, reference ${ref} (tolerance ${TOL[dtype]})`);
        });
        const kept = exp.kept.map((_, i) => x.ifc_stat_kept(model, i));
        assert.deepEqual(kept, exp.kept);
        assert.equal(x.ifc_stat_flops_f64(model), exp.flops);
        assert.ok(x.ifc_stat_ms(model) >= 0);
      });
    }
    test(`golden ${name}.${dtype} free`, () => {
      if (model) rt.x.ifc_model_free(model);
    });
  }
}

test('truncated model file is refused with IFC_ERR_FORMAT and a message', () => {
  assert.ok(rt, 'wasm module not built');
  const buf = readFileSync(path.join(fixtures, 'sampled.f32.safetensors'));
  for (const cut of [0, 7, 8, 100, Math.floor(buf.length / 2), buf.length - 1]) {
    const { status, handle } = rt.load(buf.subarray(0, cut));
    assert.equal(status, IFC_ERR_FORMAT, `cut at ${cut}: ${rt.lastError()}`);
    assert.equal(handle, 0);
    assert.match(rt.lastError(), /.{10,}/);
  }
});

test('input longer than the max length and ids outside the vocabulary are refused', () => {
  assert.ok(rt, 'wasm module not built');
  const { status, handle } = rt.load(readFileSync(path.join(fixtures, 'sampled.f32.safetensors')));
  assert.equal(status, 0, rt.lastError());
  const P = rt.x.ifc_max_length(handle);
  const long = rt.classify(handle, new Array(P + 1).fill(2), new Array(P + 1).fill(0));
  assert.equal(long.status, IFC_ERR_ARG);
  assert.match(rt.lastError(), /length/);
  const bad = rt.classify(handle, [2, 0x7fffffff], [0, 0]);
  assert.equal(bad.status, IFC_ERR_ARG);
  assert.match(rt.lastError(), /vocabulary/);
  const ok = rt.classify(handle, new Array(P).fill(2), new Array(P).fill(0));
  assert.equal(ok.status, 0, rt.lastError());
  assert.equal(rt.x.ifc_dense_flops_f64(handle, P) >= rt.x.ifc_stat_flops_f64(handle), true);
  rt.x.ifc_model_free(handle);
});
