// Loads and instantiates web/inforcoef.wasm (a standalone module built by ./build.sh: no Emscripten
// JS glue). One code path for browsers, workers, bundlers and Node: the module is located with
// new URL('./inforcoef.wasm', import.meta.url), which bundlers rewrite to the emitted asset; an
// http(s)/blob URL is fetched, a file: URL (Node) is read with node:fs.
//
// Imports the module needs: env.emscripten_notify_memory_growth(i32) (memory grew: views over the
// old buffer are stale; we make fresh views on every access, so nothing to do) and env.ifc_now_ms()
// -> f64 (a monotonic clock for ifc_stat_ms).

import { InforcoefError } from './errors.js';

export const DEFAULT_WASM_URL = new URL('./inforcoef.wasm', import.meta.url);

const compiled = new Map(); // URL string -> Promise<WebAssembly.Module>

export const isNode = typeof process !== 'undefined' && process.versions != null && process.versions.node != null;

// node:fs, imported on first use; a variable name, so that browser bundlers do not try to bundle it.
let nodeFs = null;
async function fsModule() {
    const name = 'node:fs';
    return (nodeFs ??= await import(/* @vite-ignore */ /* webpackIgnore: true */ name));
}

const ioError = (url, e) => new InforcoefError('IO', `cannot read ${decodeURIComponent(url.pathname)}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`, { cause: e });

async function fetchOk(url) {
    let res;
    try { res = await fetch(url); } catch (e) {
        throw new InforcoefError('IO', `cannot fetch ${url}: ${e.message}`, { cause: e });
    }
    if (!res.ok) throw new InforcoefError('IO', `cannot fetch ${url}: HTTP ${res.status} ${res.statusText}`);
    return res;
}

// Reads a URL to bytes: file: through node:fs (fetch has no file: scheme in Node), others by fetch.
// A local file is read synchronously: one read of a file costs less than the round trips through
// libuv's thread pool that fs.promises.readFile makes (open, stat, a read per 512 KiB, close),
// each of which waits for a core on a busy machine.
export async function readUrl(url, onProgress) {
    url = new URL(url);
    if (url.protocol === 'file:') return readFileInto(url, (size) => new Uint8Array(size), onProgress);
    const res = await fetchOk(url);
    const total = Number(res.headers.get('content-length')) || 0;
    if (!res.body || !onProgress) {
        const bytes = new Uint8Array(await res.arrayBuffer());
        onProgress?.({ loaded: bytes.length, total: bytes.length });
        return bytes;
    }
    // Stream, reporting progress per chunk; into one buffer when the length is known.
    const reader = res.body.getReader();
    let buf = new Uint8Array(total || 1 << 20), loaded = 0;
    onProgress({ loaded: 0, total });
    for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (loaded + value.length > buf.length) {
            const bigger = new Uint8Array(Math.max(buf.length * 2, loaded + value.length));
            bigger.set(buf.subarray(0, loaded));
            buf = bigger;
        }
        buf.set(value, loaded);
        loaded += value.length;
        onProgress({ loaded, total });
    }
    if (loaded !== total) onProgress({ loaded, total: loaded }); // the last event says 100%, also without a content-length
    return buf.subarray(0, loaded);
}

// Node: reads a local file (a file: URL) straight into memory that place(size) provides (a
// Uint8Array of `size` bytes, e.g. in the wasm heap; it may be async), so the bytes are never held
// in a JS buffer as well. The file is opened before place() is called: a missing file is reported
// as such. Returns place()'s array, filled.
export async function readFileInto(url, place, onProgress) {
    url = new URL(url);
    const fs = await fsModule();
    let fd;
    try { fd = fs.openSync(url, 'r'); } catch (e) { throw ioError(url, e); }
    try {
        let size;
        try { size = fs.fstatSync(fd).size; } catch (e) { throw ioError(url, e); }
        const view = await place(size);
        let off = 0;
        while (off < size) {
            let n;
            try { n = fs.readSync(fd, view, off, size - off, off); } catch (e) { throw ioError(url, e); }
            if (n === 0) throw new InforcoefError('IO', `cannot read ${decodeURIComponent(url.pathname)}: it shrank to ${off} bytes while being read (${size} expected)`);
            off += n;
        }
        onProgress?.({ loaded: size, total: size });
        return view;
    } finally {
        fs.closeSync(fd);
    }
}

async function compileUrl(url) {
    url = new URL(url);
    // Node: compile on this thread. WebAssembly.compile validates on a worker and answers through the
    // event loop, a round trip that costs more than the compile (V8 compiles each function on its
    // first call). Browsers: compile while the bytes arrive, when the server sends application/wasm.
    if (url.protocol === 'file:') return new WebAssembly.Module(await readUrl(url));
    if (typeof WebAssembly.compileStreaming === 'function') {
        const res = await fetchOk(url);
        const again = res.clone();
        try { return await WebAssembly.compileStreaming(res); } catch (e) {
            if (!(e instanceof TypeError)) throw e; // a wrong Content-Type: compile the bytes instead
            return WebAssembly.compile(await again.arrayBuffer());
        }
    }
    return WebAssembly.compile(await readUrl(url));
}

// source: undefined (the package's inforcoef.wasm), a URL or URL string, bytes, or a compiled
// WebAssembly.Module. Compiled modules are cached per URL, for the life of the page or process:
// every load() after the first skips the compile.
export function compileWasm(source = DEFAULT_WASM_URL) {
    if (source instanceof WebAssembly.Module) return Promise.resolve(source);
    if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return WebAssembly.compile(source);
    const key = String(source);
    if (!compiled.has(key)) {
        const p = compileUrl(source).catch((e) => {
            compiled.delete(key);
            if (e instanceof InforcoefError) {
                throw new InforcoefError('IO', `${e.message} (the wasm runtime; build it with ./build.sh)`, { cause: e });
            }
            throw new InforcoefError('RUNTIME', `cannot compile the wasm runtime ${key}: ${e.message}`, { cause: e });
        });
        compiled.set(key, p);
    }
    return compiled.get(key);
}

const now = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();

// One instance = one heap = one model. Returns the raw exports plus memory helpers.
export async function instantiateRuntime(wasmSource) {
    const module = await compileWasm(wasmSource);
    const env = {
        emscripten_notify_memory_growth: () => {},
        ifc_now_ms: now,
    };
    const imports = { env };
    // Anything else the module imports (nothing, in a correct build) fails loudly when called,
    // instead of failing the whole instantiation.
    for (const imp of WebAssembly.Module.imports(module)) {
        if (imp.kind !== 'function') continue;
        imports[imp.module] ??= {};
        imports[imp.module][imp.name] ??= () => { throw new Error(`inforcoef.wasm called the unexpected import ${imp.module}.${imp.name}`); };
    }
    // Node: instantiate on this thread (no event-loop round trip); browsers may refuse that for
    // large modules on the main thread, so they get the async form.
    const instance = isNode ? new WebAssembly.Instance(module, imports) : await WebAssembly.instantiate(module, imports);
    const x = instance.exports;
    for (const name of ['memory', 'malloc', 'free', 'ifc_last_error', 'ifc_model_load', 'ifc_model_free', 'ifc_classify']) {
        if (!(name in x)) throw new InforcoefError('RUNTIME', `inforcoef.wasm lacks the export ${name}: rebuild it with ./build.sh`);
    }
    x._initialize?.(); // standalone reactor modules run their static constructors here
    return new Runtime(x);
}

const utf8 = new TextDecoder();

export class Runtime {
    constructor(exports) { this.x = exports; }
    get buffer() { return this.x.memory.buffer; } // fresh every time: memory growth replaces it
    u8(ptr, n) { return new Uint8Array(this.buffer, ptr, n); }
    i32(ptr, n) { return new Int32Array(this.buffer, ptr, n); }
    f32(ptr, n) { return new Float32Array(this.buffer, ptr, n); }
    u32At(ptr) { return new DataView(this.buffer).getUint32(ptr, true); }
    malloc(n) {
        const p = this.x.malloc(n);
        if (!p) throw new InforcoefError('RUNTIME', `the wasm heap cannot allocate ${n} bytes`);
        return p;
    }
    free(p) { if (p) this.x.free(p); }
    cstring(ptr) {
        if (!ptr) return '';
        const mem = new Uint8Array(this.buffer);
        let end = ptr;
        while (end < mem.length && mem[end] !== 0) end++;
        return utf8.decode(mem.subarray(ptr, end));
    }
    lastError() { return this.cstring(this.x.ifc_last_error()); }

    // A tokenizer's lookup (BertTokenizer's `lookup` option) through the vocabulary index that
    // ifc_model_load builds in C (ifc_token_id): a Map of a file's 20,000 tokens built in JS was 4 ms
    // of every cold start. Each token is written as UTF-8 into a scratch buffer on the wasm heap;
    // lookup.free() releases it. isDisposed() true: the model is gone, a lookup throws. undefined
    // (the tokenizer then builds its Map) for a runtime build without ifc_token_id.
    tokenLookup(model, isDisposed) {
        if (typeof this.x.ifc_token_id !== 'function') return undefined;
        const encoder = new TextEncoder();
        let scratch = 0, cap = 0;
        const lookup = (token) => {
            if (isDisposed()) throw new InforcoefError('DISPOSED', 'this classifier was disposed');
            if (3 * token.length > cap) { // UTF-16 unit -> at most 3 UTF-8 bytes
                this.free(scratch);
                scratch = cap = 0; // malloc may throw: never leave a freed buffer in use
                const size = Math.max(256, 3 * token.length);
                scratch = this.malloc(size);
                cap = size;
            }
            const { written } = encoder.encodeInto(token, this.u8(scratch, cap));
            const id = this.x.ifc_token_id(model, scratch, written);
            return id < 0 ? undefined : id;
        };
        lookup.free = () => { this.free(scratch); scratch = cap = 0; };
        return lookup;
    }
}

export const STATUS = ['ok', 'bad argument', 'not a valid safetensors container', 'not a valid model', 'out of memory'];
