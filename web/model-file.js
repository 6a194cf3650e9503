// inforcoef model file reader: on top of the safetensors container checks (safetensors.js), checks
// what docs/model-format.md asks of a model, `__metadata__` (format, config, vocab) and the tensor
// table implied by the config, and returns what the JS side needs: config, vocabulary, labels,
// tensor list, parameter counts. The weights themselves are read by the wasm runtime.

import { InforcoefError } from './errors.js';
import { parseSafetensors, DTYPE_SIZE } from './safetensors.js';

export const FORMAT_VERSION = 1;
export const MAX_POSITION = 4096; // docs/model-format.md (src/ifc_internal.h IFC_MAX_POSITION)
const SCALE = '_scale';
// The tensors a file may store as U8: 4-bit codes packed two a byte, [rows, ceil(cols / 2)].
const PACKABLE = new Set(['embeddings.word_embeddings.weight', 'embeddings.position_embeddings.weight',
    'embeddings.token_type_embeddings.weight']);

// The spec's tensor table for a config: Map name -> shape, in file order. Grouped by part, for
// parameter counts: 'embeddings', 'layer.i.sampler', 'layer.i.attention', 'layer.i.ffn', 'head'.
export function expectedTensors(config) {
    const d = config.hidden_size, hs = config.head_size;
    const out = new Map();
    const add = (part, name, shape) => out.set(name, { part, shape });
    add('embeddings', 'embeddings.word_embeddings.weight', [config.vocab_size, d]);
    add('embeddings', 'embeddings.position_embeddings.weight', [config.max_position, d]);
    add('embeddings', 'embeddings.token_type_embeddings.weight', [config.type_vocab_size, d]);
    add('embeddings', 'embeddings.LayerNorm.weight', [d]);
    add('embeddings', 'embeddings.LayerNorm.bias', [d]);
    config.layers.forEach((layer, i) => {
        const p = `encoder.layer.${i}.`;
        if (layer.sampler) {
            const part = `layer.${i}.sampler`;
            for (const ln of ['ln1', 'ln2']) { add(part, p + `sampler.${ln}.weight`, [d]); add(part, p + `sampler.${ln}.bias`, [d]); }
            add(part, p + 'sampler.dense1.weight', [d, d]); add(part, p + 'sampler.dense1.bias', [d]);
            add(part, p + 'sampler.dense2.weight', [2, d]); add(part, p + 'sampler.dense2.bias', [2]);
        }
        if (layer.heads > 0) {
            const part = `layer.${i}.attention`, a = layer.heads * hs;
            for (const proj of ['query', 'key', 'value']) {
                add(part, p + `attention.self.${proj}.weight`, [a, d]); add(part, p + `attention.self.${proj}.bias`, [a]);
            }
            add(part, p + 'attention.output.dense.weight', [d, a]); add(part, p + 'attention.output.dense.bias', [d]);
            add(part, p + 'attention.output.LayerNorm.weight', [d]); add(part, p + 'attention.output.LayerNorm.bias', [d]);
        }
        if (layer.ffn > 0) {
            const part = `layer.${i}.ffn`, f = layer.ffn;
            add(part, p + 'intermediate.dense.weight', [f, d]); add(part, p + 'intermediate.dense.bias', [f]);
            add(part, p + 'output.dense.weight', [d, f]); add(part, p + 'output.dense.bias', [d]);
            add(part, p + 'output.LayerNorm.weight', [d]); add(part, p + 'output.LayerNorm.bias', [d]);
        }
    });
    add('head', 'pooler.dense.weight', [d, d]); add('head', 'pooler.dense.bias', [d]);
    add('head', 'classifier.weight', [config.labels.length, d]); add('head', 'classifier.bias', [config.labels.length]);
    return out;
}

function checkConfig(c) {
    const bad = (why) => new InforcoefError('BAD_MODEL', `bad inforcoef config: ${why}`);
    const posInt = (k, min = 1) => {
        if (!Number.isSafeInteger(c[k]) || c[k] < min) throw bad(`${k} must be an integer >= ${min}, got ${JSON.stringify(c[k])}`);
    };
    for (const k of ['hidden_size', 'head_size', 'max_position', 'type_vocab_size', 'vocab_size']) posInt(k);
    if (c.max_position < 2) throw bad('max_position must be at least 2 ([CLS] and [SEP])');
    if (c.max_position > MAX_POSITION) throw bad(`max_position must be at most ${MAX_POSITION}, got ${c.max_position}`);
    // > 0 as a float32 (what the runtime computes with): 1e-50 rounds to 0 and is refused, as in src/config.c
    if (typeof c.layer_norm_eps !== 'number' || !Number.isFinite(c.layer_norm_eps) || !(Math.fround(c.layer_norm_eps) > 0)) throw bad(`layer_norm_eps must be a finite number > 0 (as a float32), got ${JSON.stringify(c.layer_norm_eps)}`);
    if (typeof c.do_lower_case !== 'boolean') throw bad('do_lower_case must be true or false');
    if (!Array.isArray(c.labels) || c.labels.length < 1 || !c.labels.every((l) => typeof l === 'string')) throw bad('labels must be a non-empty list of strings');
    if (c.keep_threshold !== undefined && typeof c.keep_threshold !== 'number') throw bad('keep_threshold must be a number');
    if (!Array.isArray(c.layers)) throw bad('layers must be a list');
    c.layers.forEach((l, i) => {
        if (l === null || typeof l !== 'object') throw bad(`layers[${i}] is not an object`);
        if (!Number.isSafeInteger(l.heads) || l.heads < 0) throw bad(`layers[${i}].heads must be an integer >= 0`);
        if (!Number.isSafeInteger(l.ffn) || l.ffn < 0) throw bad(`layers[${i}].ffn must be an integer >= 0`);
        if (typeof l.sampler !== 'boolean') throw bad(`layers[${i}].sampler must be true or false`);
    });
    const sp = c.special_tokens;
    if (sp !== undefined && (sp === null || typeof sp !== 'object')) throw bad('special_tokens must be an object');
}

// bytes: Uint8Array of the whole file. Returns
// {config, vocab, labels, tensors: [{name, dtype, shape, bytes, part}], parameters: {total, byPart},
//  bytesByDtype, fileSize, headerSize}. Throws InforcoefError (see errors.js) on anything wrong.
export function readModelFile(bytes) {
    const st = parseSafetensors(bytes);
    const md = st.metadata;
    if (md.format !== 'inforcoef') {
        throw new InforcoefError('NOT_INFORCOEF', md.format === undefined
            ? 'not an inforcoef model: a safetensors file without __metadata__.format = "inforcoef"'
            : `not an inforcoef model: __metadata__.format is ${JSON.stringify(md.format)}, not "inforcoef"`);
    }
    let config;
    try { config = JSON.parse(md.config); } catch (e) {
        throw new InforcoefError('BAD_MODEL', `bad inforcoef model: __metadata__.config is not JSON (${e.message})`);
    }
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new InforcoefError('BAD_MODEL', 'bad inforcoef model: config is not a JSON object');
    if (config.format_version !== FORMAT_VERSION) {
        throw new InforcoefError('UNSUPPORTED_VERSION', `unsupported inforcoef model: format_version ${JSON.stringify(config.format_version)}; this runtime reads version ${FORMAT_VERSION}`);
    }
    checkConfig(config);
    if (typeof md.vocab !== 'string') throw new InforcoefError('BAD_MODEL', 'bad inforcoef model: __metadata__.vocab is missing');
    const vocab = md.vocab.split('\n');
    if (vocab.length !== config.vocab_size) {
        throw new InforcoefError('BAD_MODEL', `bad inforcoef model: the vocabulary has ${vocab.length} tokens, config.vocab_size is ${config.vocab_size}`);
    }

    // Tensor table: every listed tensor present with its shape, nothing else; 1-D tensors F32; an I8
    // tensor X comes with X_scale (F32, [rows]) and a _scale only with its I8 tensor; U8 (packed
    // 4-bit, [rows, ceil(cols / 2)]) only for the embedding tables, also with X_scale.
    const want = expectedTensors(config);
    const tensors = [];
    for (const [name, { part, shape }] of want) {
        const t = st.tensors.get(name);
        if (!t) throw new InforcoefError('BAD_MODEL', `bad inforcoef model: tensor ${name} is missing`);
        const packed = t.dtype === 'U8';
        if (packed && !PACKABLE.has(name)) throw new InforcoefError('BAD_MODEL', `bad inforcoef model: tensor ${name} is U8 (packed 4-bit), allowed for the embedding tables only`);
        const stored = packed ? [shape[0], Math.ceil(shape[1] / 2)] : shape;
        if (t.shape.length !== stored.length || t.shape.some((v, i) => v !== stored[i])) {
            throw new InforcoefError('BAD_MODEL', `bad inforcoef model: tensor ${name} has shape [${t.shape}], the config implies [${stored}]${packed ? ' (4-bit codes, two a byte)' : ''}`);
        }
        if (shape.length === 1 && t.dtype !== 'F32') throw new InforcoefError('BAD_MODEL', `bad inforcoef model: 1-D tensor ${name} is ${t.dtype}, must be F32`);
        tensors.push({ name, dtype: packed ? 'I4' : t.dtype, shape: shape.slice(), bytes: t.end - t.begin, part });
        const s = st.tensors.get(name + SCALE);
        if (t.dtype === 'I8' || packed) {
            if (!s) throw new InforcoefError('BAD_MODEL', `bad inforcoef model: ${t.dtype} tensor ${name} has no ${name + SCALE}`);
            if (s.dtype !== 'F32' || s.shape.length !== 1 || s.shape[0] !== shape[0]) {
                throw new InforcoefError('BAD_MODEL', `bad inforcoef model: ${name + SCALE} must be F32 of shape [${shape[0]}]`);
            }
            tensors.push({ name: name + SCALE, dtype: 'F32', shape: s.shape, bytes: s.end - s.begin, part, scale: true });
        } else if (s) {
            throw new InforcoefError('BAD_MODEL', `bad inforcoef model: ${name + SCALE} present but ${name} is ${t.dtype}, not I8 or U8`);
        }
    }
    for (const name of st.tensors.keys()) {
        if (!want.has(name) && !(name.endsWith(SCALE) && want.has(name.slice(0, -SCALE.length)))) {
            throw new InforcoefError('BAD_MODEL', `bad inforcoef model: tensor ${name} is not in the model-format table for this config`);
        }
    }
    const sp = { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]', ...(config.special_tokens || {}) };
    for (const k of ['cls', 'sep', 'unk']) { // three scans, cheaper than hashing the vocabulary into a Set
        if (!vocab.includes(sp[k])) throw new InforcoefError('BAD_MODEL', `bad inforcoef model: special token ${k} ${JSON.stringify(sp[k])} is not in the vocabulary`);
    }

    const byPart = {};
    let total = 0;
    const bytesByDtype = {};
    for (const t of tensors) {
        bytesByDtype[t.dtype] = (bytesByDtype[t.dtype] || 0) + t.bytes;
        if (t.scale) continue; // quantisation scales are not parameters of the network
        const n = t.shape.reduce((a, v) => a * v, 1);
        byPart[t.part] = (byPart[t.part] || 0) + n;
        total += n;
    }
    return {
        config, vocab, labels: config.labels.slice(), specialTokens: sp, tensors,
        parameters: { total, byPart }, bytesByDtype, fileSize: bytes.length, headerSize: st.headerSize,
    };
}

export { DTYPE_SIZE };
