// safetensors container reader: parses and checks the header, as docs/model-format.md "Container"
// lists, without touching the data area. The wasm runtime checks the same things again; doing it here
// first gives clear JS errors (not a safetensors file / truncated) before any bytes are copied.
//
//   bytes 0..8       u64 little-endian N = header length
//   bytes 8..8+N     JSON header {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {..}}
//   bytes 8+N..end   data area

import { InforcoefError } from './errors.js';

export const DTYPE_SIZE = { F32: 4, F16: 2, I8: 1, U8: 1 }; // U8: packed 4-bit embedding tables (model-file.js)
const MAX_HEADER = 100000000;

// bytes: Uint8Array of the whole file. Returns {headerSize, metadata, tensors, dataStart, dataSize},
// tensors: Map name -> {dtype, shape, begin, end} (offsets relative to the data area).
export function parseSafetensors(bytes) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('parseSafetensors expects a Uint8Array');
    const size = bytes.length;
    if (size < 8) {
        throw new InforcoefError(size === 0 ? 'NOT_SAFETENSORS' : 'TRUNCATED',
            size === 0 ? 'not a safetensors file: it is empty' : `not a safetensors file or truncated: ${size} bytes, less than the 8-byte header length`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const lo = view.getUint32(0, true), hi = view.getUint32(4, true);
    const looksJson = size > 8 && [0x7b, 0x20, 0x09, 0x0a, 0x0d].includes(bytes[8]); // '{' or JSON whitespace
    if (hi !== 0 || lo > MAX_HEADER || lo < 2) {
        throw new InforcoefError('NOT_SAFETENSORS', `not a safetensors file: its first 8 bytes give a header length of ${hi * 2 ** 32 + lo} (must be 2..${MAX_HEADER})`);
    }
    const n = lo;
    if (size === 8) throw new InforcoefError('TRUNCATED', `truncated safetensors file: the header needs ${8 + lo} bytes, the file has 8`);
    if (!looksJson) throw new InforcoefError('NOT_SAFETENSORS', 'not a safetensors file: no JSON header after the 8-byte length');
    if (8 + n > size) {
        throw new InforcoefError('TRUNCATED', `truncated safetensors file: the header needs ${8 + n} bytes, the file has ${size}`);
    }
    let header;
    try {
        const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
        header = JSON.parse(text);
    } catch (e) {
        throw new InforcoefError('NOT_SAFETENSORS', `not a safetensors file: the header is not valid UTF-8 JSON (${e.message})`);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) {
        throw new InforcoefError('NOT_SAFETENSORS', 'not a safetensors file: the header is not a JSON object');
    }
    const dataStart = 8 + n, dataSize = size - dataStart;
    let metadata = {};
    const tensors = new Map();
    for (const [name, t] of Object.entries(header)) {
        if (name === '__metadata__') {
            if (t === null || typeof t !== 'object' || Array.isArray(t) || Object.values(t).some((v) => typeof v !== 'string')) {
                throw new InforcoefError('NOT_SAFETENSORS', 'not a safetensors file: __metadata__ must map strings to strings');
            }
            metadata = t;
            continue;
        }
        const bad = (why) => new InforcoefError('NOT_SAFETENSORS', `bad safetensors header: tensor ${JSON.stringify(name)} ${why}`);
        if (t === null || typeof t !== 'object') throw bad('is not an object');
        if (!(t.dtype in DTYPE_SIZE)) {
            throw new InforcoefError(typeof t.dtype === 'string' ? 'BAD_MODEL' : 'NOT_SAFETENSORS',
                `tensor ${JSON.stringify(name)} has dtype ${JSON.stringify(t.dtype)}; inforcoef models use F32, F16, I8 and U8 only`);
        }
        if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad('has a shape that is not a list of integers >= 0');
        const off = t.data_offsets;
        if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad('has data_offsets that are not two integers >= 0');
        const [begin, end] = off;
        const count = t.shape.reduce((a, d) => a * d, 1);
        if (begin > end || end - begin !== count * DTYPE_SIZE[t.dtype]) {
            throw bad(`has data_offsets [${begin}, ${end}] that do not hold shape [${t.shape}] of ${t.dtype} (${count * DTYPE_SIZE[t.dtype]} bytes)`);
        }
        if (end > dataSize) {
            throw new InforcoefError('TRUNCATED', `truncated safetensors file: tensor ${JSON.stringify(name)} ends at data byte ${end}, the data area has ${dataSize} bytes`);
        }
        if (begin % DTYPE_SIZE[t.dtype] !== 0) throw bad(`begins at data byte ${begin}, not a multiple of ${DTYPE_SIZE[t.dtype]}`);
        tensors.set(name, { dtype: t.dtype, shape: t.shape.slice(), begin, end });
    }
    const sorted = [...tensors.entries()].sort((x, y) => x[1].begin - y[1].begin || x[1].end - y[1].end);
    for (let i = 1; i < sorted.length; i++) {
        if (sorted[i][1].begin < sorted[i - 1][1].end) {
            throw new InforcoefError('NOT_SAFETENSORS', `bad safetensors header: tensors ${JSON.stringify(sorted[i - 1][0])} and ${JSON.stringify(sorted[i][0])} overlap`);
        }
    }
    return { headerSize: n, metadata, tensors, dataStart, dataSize };
}
