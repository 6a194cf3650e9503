// The three engines the benchmark compares, behind one interface:
//
//   engine = await openEngine({ kind, path, threshold })
//     kind 'ours'     our wasm runtime through the public API (web/index.js load + classifyIds)
//     kind 'ort-web'  onnxruntime-web, WASM backend (SIMD build), in Node, ort.env.wasm.numThreads = 1
//     kind 'ort-node' onnxruntime-node, native CPU execution provider, intra/inter-op threads 1
//   engine.run(ids: Int32Array, types: Int32Array) -> Promise<{ logits: Float32Array, flops?: number, kept?: number[] }>
//   engine.bytes      size of the model file (safetensors or ONNX)
//   engine.memories   the WebAssembly.Memory objects this engine's wasm instance uses (empty for native)
//
// Every WebAssembly instance created in this process is watched (watchWasmMemory): the hook records
// the memories it exports or imports, which is how onnxruntime-web's heap (a SharedArrayBuffer
// imported by its threaded build, not exposed by its API) and ours are measured the same way.
// Wasm memory never shrinks, so byteLength after a run is that instance's peak.
import { readFileSync, statSync } from 'node:fs';

const seen = [];
let hooked = false;

export function watchWasmMemory() {
    if (hooked) return;
    hooked = true;
    const record = (instance, imports) => {
        for (const v of Object.values(instance.exports)) if (v instanceof WebAssembly.Memory) seen.push(v);
        for (const mod of Object.values(imports ?? {})) {
            if (mod && typeof mod === 'object') for (const v of Object.values(mod)) if (v instanceof WebAssembly.Memory) seen.push(v);
        }
    };
    // our runtime instantiates synchronously in Node (web/wasm.js): the constructor is watched too
    const Instance = WebAssembly.Instance;
    WebAssembly.Instance = new Proxy(Instance, {
        construct(target, args, newTarget) {
            const instance = Reflect.construct(target, args, newTarget === WebAssembly.Instance ? target : newTarget);
            record(instance, args[1]);
            return instance;
        },
    });
    const instantiate = WebAssembly.instantiate;
    WebAssembly.instantiate = async function (source, imports) {
        const r = await instantiate.call(this, source, imports);
        record(r.instance ?? r, imports);
        return r;
    };
    const streaming = WebAssembly.instantiateStreaming;
    if (streaming) {
        WebAssembly.instantiateStreaming = async function (source, imports) {
            const r = await streaming.call(this, source, imports);
            record(r.instance, imports);
            return r;
        };
    }
}

// Memories recorded while fn ran (unique).
async function memoriesCreatedBy(fn) {
    const before = seen.length;
    const value = await fn();
    return { value, memories: [...new Set(seen.slice(before))] };
}

let ortWeb = null, ortNode = null;
export async function importOrt(kind) {
    if (kind === 'ort-web') {
        if (!ortWeb) {
            ortWeb = await import('onnxruntime-web');
            ortWeb.env.wasm.numThreads = 1; // one thread, as ours (and no worker proxy)
            ortWeb.env.logLevel = 'error';
        }
        return ortWeb;
    }
    if (!ortNode) {
        ortNode = await import('onnxruntime-node');
        ortNode.env.logLevel = 'error';
    }
    return ortNode;
}

function ortFeeds(ort, ids, types) {
    const n = ids.length;
    const a = new BigInt64Array(n), b = new BigInt64Array(n);
    for (let i = 0; i < n; i++) { a[i] = BigInt(ids[i]); b[i] = BigInt(types[i]); }
    return { input_ids: new ort.Tensor('int64', a, [1, n]), token_type_ids: new ort.Tensor('int64', b, [1, n]) };
}

export async function openEngine({ kind, path, threshold = null }) {
    watchWasmMemory();
    const bytes = statSync(path).size;
    if (kind === 'ours') {
        const { load } = await import('../web/index.js');
        const { value: clf, memories } = await memoriesCreatedBy(() => load(path, { threshold }));
        return {
            kind, path, bytes, memories, classifier: clf, maxLength: clf.maxLength,
            // synchronous underneath; async here to share the ORT interface (the await is in every timing)
            run: async (ids, types) => {
                const r = clf.classifyIds(ids, types);
                return { logits: r.logits, flops: r.flops, kept: r.kept };
            },
            denseFlops: (n) => clf.denseFlops(n),
            dispose: () => clf.dispose(),
        };
    }
    if (kind === 'ort-web' || kind === 'ort-node') {
        const ort = await importOrt(kind);
        const options = kind === 'ort-web'
            ? { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }
            : { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 };
        const { value: session, memories } = await memoriesCreatedBy(() => ort.InferenceSession.create(path, options));
        return {
            kind, path, bytes, memories, session,
            run: async (ids, types) => {
                const out = await session.run(ortFeeds(ort, ids, types));
                return { logits: out.logits.data };
            },
            dispose: () => session.release(),
        };
    }
    throw new Error(`unknown engine kind ${kind}`);
}

// ORT-web shares one wasm instance (one heap) between all its sessions in a process: its memory
// is only attributable to one model in a process that opens only that model.
export function wasmBytes(engine) {
    return engine.memories.reduce((s, m) => s + m.buffer.byteLength, 0);
}

export function readJson(p) { return JSON.parse(readFileSync(p, 'utf8')); }
