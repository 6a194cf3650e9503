#!/usr/bin/env node
// inforcoef command line (Node >= 20): classify texts, evaluate on a labelled TSV, inspect a model
// file, benchmark latency. `inforcoef --help` lists the commands; `inforcoef CMD --help` the options.
// Exit status: 0 success, 1 failure (bad model, missing file, runtime error), 2 bad usage.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { load, DEFAULT_MODEL_URL, InforcoefError } from './index.js';
import { readModelFile } from './model-file.js';
import { parseDataset, labelMapper, DATASET_FORMATS } from './datasets.js';

const DEFAULT_MODEL = fileURLToPath(DEFAULT_MODEL_URL);
const VERSION = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;

const HELP = {
    main: `inforcoef ${VERSION}: text classification with a compressed BERT in WebAssembly

usage: inforcoef COMMAND [options]

commands:
  classify [TEXT...]      classify texts (one per argument, or one per stdin line)
  eval --data TSV         accuracy, kept tokens, FLOPs and latency on a labelled data set
  inspect [MODEL]         config, sizes and parameter counts of a model file
  bench                   latency at a few input lengths

common options:
  -m, --model FILE        model file (default: the shipped ${path.relative(process.cwd(), DEFAULT_MODEL) || DEFAULT_MODEL})
  -t, --threshold T       token-sampler keep threshold (default: the model's; -inf keeps every token)
  -h, --help              help for a command
  -v, --version           print the version

exit status: 0 success, 1 failure, 2 bad usage. See 'inforcoef COMMAND --help'.`,
    classify: `usage: inforcoef classify [--model FILE] [--threshold T] [--top-k K] [--pair] [--json] [TEXT...]

Classifies each TEXT; with no TEXT, each line of standard input.
  --pair          each input is a pair: TEXT arguments are taken two by two (A B A B ...),
                  stdin lines are split at their first TAB
  -k, --top-k K   labels to show per input (default 1; 0 = all)
  --json          one JSON object per input: {"text", "pair"?, "labels": [{"label", "score"}]}
Output (text mode): LABEL<TAB>SCORE<TAB>TEXT per input, SCORE the softmax probability.`,
    eval: `usage: inforcoef eval [--model FILE] --data TSV [--format F] [--limit N] [--threshold T] [--json] [--quiet]

Scores the model on a labelled TSV (.gz is read too). Formats (detected from the header line):
  sst2  sentence<TAB>label                         (GLUE SST-2)
  mrpc  Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String   (GLUE MRPC, pairs)
  rte   index<TAB>sentence1<TAB>sentence2<TAB>label  (GLUE RTE, pairs, word labels)
  imdb  label<TAB>rating<TAB>id<TAB>text            (IMDb)
  cola  source<TAB>label<TAB>mark<TAB>sentence, no header (GLUE CoLA; give --format cola)
Gold labels map to model labels by name (case-insensitive), else by GLUE class id: SST-2/IMDb
0 negative 1 positive; MRPC 0 not equivalent 1 equivalent; RTE 0 entailment 1 not_entailment;
CoLA 0 unacceptable 1 acceptable (the class id is the model's label index).
Reports accuracy, mean tokens kept per layer, mean FLOPs against the same model with every token
kept, and latency percentiles (tokenizer + model, per input). Progress goes to stderr.
  --format F      one of ${DATASET_FORMATS.join(', ')} (default: from the header)
  -n, --limit N   only the first N examples
  --json          the report as one JSON object
  -q, --quiet     no progress on stderr`,
    inspect: `usage: inforcoef inspect [MODEL] [--json]

Prints a model file's config, layer structure, parameter counts and sizes (reads the file only;
the wasm runtime is not needed). MODEL defaults to the shipped model.`,
    bench: `usage: inforcoef bench [--model FILE] [--lengths 16,64,128,512] [--runs N] [--threshold T] [--json]

Latency of the model on inputs of the given token lengths (English text, cut to length; lengths
above the model's maximum are skipped). Reports the runtime's own time per call (median, p90),
FLOPs and GFLOP/s, and tokens kept by the last layer.
  --runs N        timed runs per length after 3 warm-up runs (default: as many as fit in 0.5 s, 5 to 200)`,
};

class UsageError extends Error {}

function parseThreshold(s) {
    if (s === undefined) return undefined;
    const t = s.trim().toLowerCase();
    if (t === '-inf' || t === '-infinity') return -Infinity;
    if (t === 'inf' || t === '+inf' || t === 'infinity') return Infinity;
    const v = Number(t);
    if (t === '' || Number.isNaN(v)) throw new UsageError(`--threshold wants a number or -inf, got ${JSON.stringify(s)}`);
    return v;
}

function parseIntOption(name, s, min) {
    if (s === undefined) return undefined;
    const v = Number(s);
    if (!Number.isInteger(v) || v < min) throw new UsageError(`--${name} wants an integer >= ${min}, got ${JSON.stringify(s)}`);
    return v;
}

const OPTIONS = {
    classify: { model: { type: 'string', short: 'm' }, threshold: { type: 'string', short: 't' }, 'top-k': { type: 'string', short: 'k' }, pair: { type: 'boolean' }, json: { type: 'boolean' } },
    eval: { model: { type: 'string', short: 'm' }, threshold: { type: 'string', short: 't' }, data: { type: 'string', short: 'd' }, format: { type: 'string' }, limit: { type: 'string', short: 'n' }, json: { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' } },
    inspect: { model: { type: 'string', short: 'm' }, json: { type: 'boolean' } },
    bench: { model: { type: 'string', short: 'm' }, threshold: { type: 'string', short: 't' }, lengths: { type: 'string' }, runs: { type: 'string' }, json: { type: 'boolean' } },
};

function parse(cmd, args) {
    const options = { ...OPTIONS[cmd], help: { type: 'boolean', short: 'h' } };
    // "--threshold -1" / "-t -inf": parseArgs refuses a value that starts with '-'; join such numbers.
    const joined = [];
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        const opt = a.startsWith('--') ? options[a.slice(2)] : Object.values(options).find((o) => a === '-' + o.short);
        if (opt && opt.type === 'string' && i + 1 < args.length && /^-(\d|\.\d|inf)/i.test(args[i + 1])) {
            joined.push(`${a}=${args[++i]}`.replace(/^-([a-z])=/, '-$1'));
        } else joined.push(a);
    }
    try {
        return parseArgs({ args: joined, options, allowPositionals: true, strict: true });
    } catch (e) {
        throw new UsageError(e.message.split('\n')[0]);
    }
}

function modelPath(values) {
    if (values.model) return values.model;
    if (!fs.existsSync(DEFAULT_MODEL)) {
        throw new InforcoefError('IO', `no --model given, and the default model ${DEFAULT_MODEL} is not there ` +
            '(it ships with the package once trained); give --model FILE');
    }
    return DEFAULT_MODEL;
}

const fmtScore = (s) => s.toFixed(4);

async function cmdClassify({ values, positionals }) {
    const topK = parseIntOption('top-k', values['top-k'], 0) ?? 1;
    const clf = await load(modelPath(values), { threshold: parseThreshold(values.threshold) });
    const emit = async (a, b) => {
        const labels = await clf(b === null ? a : [a, b], { topK: topK === 0 ? null : topK });
        if (values.json) {
            process.stdout.write(JSON.stringify(b === null ? { text: a, labels } : { text: a, pair: b, labels }) + '\n');
        } else {
            const shown = labels.length === 1 ? `${labels[0].label}\t${fmtScore(labels[0].score)}` : labels.map((l) => `${l.label}:${fmtScore(l.score)}`).join(' ');
            process.stdout.write(`${shown}\t${b === null ? a : a + '\t' + b}\n`);
        }
    };
    if (positionals.length > 0) {
        if (values.pair && positionals.length % 2 !== 0) throw new UsageError('--pair takes the texts two by two: give an even number of TEXT arguments');
        for (let i = 0; i < positionals.length; i += values.pair ? 2 : 1) await emit(positionals[i], values.pair ? positionals[i + 1] : null);
    } else {
        if (process.stdin.isTTY) process.stderr.write('inforcoef: reading texts from standard input, one per line (Ctrl-D ends)\n');
        const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
        for await (const line of rl) {
            if (values.pair) {
                const tab = line.indexOf('\t');
                await emit(tab < 0 ? line : line.slice(0, tab), tab < 0 ? '' : line.slice(tab + 1));
            } else await emit(line, null);
        }
    }
    clf.dispose();
}

function percentile(sorted, p) {
    if (sorted.length === 0) return NaN;
    const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[i];
}

function readDataFile(file) {
    let buf;
    try { buf = fs.readFileSync(file); } catch (e) {
        throw new InforcoefError('IO', `cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    }
    if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
        try { buf = zlib.gunzipSync(buf); } catch (e) { throw new InforcoefError('IO', `cannot decompress ${file}: ${e.message}`); }
    }
    return buf.toString('utf8');
}

async function cmdEval({ values }) {
    if (!values.data) throw new UsageError('eval needs --data TSV');
    const limit = parseIntOption('limit', values.limit, 1);
    const data = parseDataset(readDataFile(values.data), { format: values.format ?? null });
    const examples = limit ? data.examples.slice(0, limit) : data.examples;
    if (examples.length === 0) throw new InforcoefError('IO', `${values.data} holds no examples`);
    const model = modelPath(values);
    const clf = await load(model, { threshold: parseThreshold(values.threshold) });
    const toIndex = labelMapper(clf.labels, data.classes);
    const gold = examples.map((e) => {
        try { return toIndex(e.label); } catch (err) { throw new InforcoefError('IO', `${values.data} line ${e.line}: ${err.message}`); }
    });
    const L = clf.numLayers;
    const keptSum = new Float64Array(L);
    let correct = 0, flops = 0, dense = 0, tokens = 0, truncated = 0, runtimeMs = 0;
    const latency = new Float64Array(examples.length);
    const confusion = clf.labels.map(() => clf.labels.map(() => 0)); // [gold][predicted]
    const progress = !values.quiet;
    const tty = process.stderr.isTTY;
    let lastShown = 0;
    const t0 = performance.now();
    for (let i = 0; i < examples.length; i++) {
        const e = examples[i];
        const start = performance.now();
        const enc = clf.tokenizer.encode(e.a, e.b);
        const r = clf.classifyIds(enc.ids, enc.types);
        latency[i] = performance.now() - start;
        let pred = 0;
        for (let k = 1; k < r.logits.length; k++) if (r.logits[k] > r.logits[pred]) pred = k;
        if (pred === gold[i]) correct++;
        confusion[gold[i]][pred]++;
        for (let l = 0; l < L; l++) keptSum[l] += r.kept[l];
        flops += r.flops;
        dense += clf.denseFlops(enc.ids.length);
        tokens += enc.ids.length;
        truncated += enc.truncated ? 1 : 0;
        runtimeMs += r.ms;
        const now = performance.now();
        if (progress && (now - lastShown > 1000 || i + 1 === examples.length)) {
            lastShown = now;
            const line = `eval ${i + 1}/${examples.length} (${(100 * (i + 1) / examples.length).toFixed(0)}%) accuracy ${(correct / (i + 1)).toFixed(4)}`;
            process.stderr.write(tty ? `\r${line}${i + 1 === examples.length ? '\n' : ''}` : line + '\n');
        }
    }
    const wall = performance.now() - t0;
    const n = examples.length;
    const sorted = Array.from(latency).sort((a, b) => a - b);
    const report = {
        data: values.data, format: data.format, examples: n, model, threshold: clf.threshold,
        accuracy: correct / n, correct,
        labels: clf.labels, confusion,
        meanTokens: tokens / n, truncated,
        meanKept: Array.from(keptSum, (s) => s / n),
        meanFlops: flops / n, meanDenseFlops: dense / n, flopsRatio: flops / dense,
        latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[n - 1], mean: sorted.reduce((a, v) => a + v, 0) / n },
        runtimeMeanMs: runtimeMs / n, wallSeconds: wall / 1000,
    };
    clf.dispose();
    if (values.json) { process.stdout.write(JSON.stringify(report) + '\n'); return; }
    const f = (v, d = 2) => v.toFixed(d);
    const lines = [
        `data        ${report.data} (${report.format}, ${n} examples${truncated ? `, ${truncated} truncated to ${clf.maxLength} tokens` : ''})`,
        `model       ${model} (threshold ${report.threshold})`,
        `accuracy    ${f(report.accuracy, 4)} (${correct}/${n})`,
        `confusion   rows gold, columns predicted (${clf.labels.join(', ')}): ${confusion.map((r) => r.join(' ')).join(' | ')}`,
        `tokens      mean ${f(report.meanTokens, 1)} per input; kept per layer ${report.meanKept.map((k) => f(k, 1)).join(' ')} (mean over layers ${f(report.meanKept.reduce((a, v) => a + v, 0) / L, 1)})`,
        `FLOPs       mean ${(report.meanFlops / 1e6).toFixed(3)} M per input; every token kept ${(report.meanDenseFlops / 1e6).toFixed(3)} M; ratio ${f(100 * report.flopsRatio, 1)}%`,
        `latency     per input (tokenizer + model) ms: p50 ${f(report.latencyMs.p50, 3)}  p90 ${f(report.latencyMs.p90, 3)}  p99 ${f(report.latencyMs.p99, 3)}  max ${f(report.latencyMs.max, 3)}  mean ${f(report.latencyMs.mean, 3)}; model alone mean ${f(report.runtimeMeanMs, 3)}`,
        `wall        ${f(report.wallSeconds, 1)} s`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
}

function human(bytes) {
    return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(2)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${bytes} B`;
}

async function cmdInspect({ values, positionals }) {
    if (positionals.length > 1) throw new UsageError('inspect takes one model file');
    const file = positionals[0] ?? modelPath(values);
    let bytes;
    try { bytes = new Uint8Array(fs.readFileSync(file)); } catch (e) {
        throw new InforcoefError('IO', `cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    }
    const info = readModelFile(bytes);
    const c = info.config;
    if (values.json) {
        const { vocab, tensors, ...rest } = info;
        process.stdout.write(JSON.stringify({ file, ...rest, tensors: tensors.map(({ name, dtype, shape, bytes }) => ({ name, dtype, shape, bytes })) }) + '\n');
        return;
    }
    const p = info.parameters.byPart;
    const lines = [
        `file          ${file}: ${human(info.fileSize)} (header ${human(info.headerSize)})`,
        `format        inforcoef v${c.format_version}${c.producer ? `, producer ${c.producer}` : ''}`,
        `task          ${c.task ?? '(none)'}; labels ${c.labels.join(', ')}`,
        `shape         hidden ${c.hidden_size}, head size ${c.head_size}, ${c.layers.length} layers, max length ${c.max_position}, vocab ${c.vocab_size}, token types ${c.type_vocab_size}`,
        `tokenizer     ${c.do_lower_case ? 'uncased (lower-case, strip accents)' : 'cased'}`,
        `threshold     ${c.keep_threshold ?? 0} (token-sampler keep threshold)`,
        'layers        #  heads  ffn    sampler  parameters (attention + ffn + sampler)',
    ];
    c.layers.forEach((l, i) => {
        const att = p[`layer.${i}.attention`] || 0, ffn = p[`layer.${i}.ffn`] || 0, smp = p[`layer.${i}.sampler`] || 0;
        lines.push(`              ${String(i).padEnd(3)}${String(l.heads).padEnd(7)}${String(l.ffn).padEnd(7)}${(l.sampler ? 'yes' : 'no').padEnd(9)}${att + ffn + smp} (${att} + ${ffn} + ${smp})`);
    });
    const encoder = Object.entries(p).filter(([k]) => k.startsWith('layer.')).reduce((a, [, v]) => a + v, 0);
    lines.push(`parameters    ${info.parameters.total} total: embeddings ${p.embeddings}, encoder ${encoder}, pooler + classifier ${p.head}`);
    const dt = {};
    for (const t of info.tensors) { dt[t.dtype] ??= { n: 0, bytes: 0 }; dt[t.dtype].n++; dt[t.dtype].bytes += t.bytes; }
    lines.push(`tensors       ${info.tensors.length}: ${Object.entries(dt).map(([k, v]) => `${k} ${v.n} (${human(v.bytes)})`).join(', ')}`);
    process.stdout.write(lines.join('\n') + '\n');
}

// English text for bench inputs (any text works; this one keeps the token samplers realistic).
const BENCH_TEXT = 'The film opens slowly, but by the second act the story has found its footing. ' +
    'The performances are honest and often funny, the camera work is patient, and the score never tells you what to feel. ' +
    'Some scenes run too long and a subplot about the brother goes nowhere, yet the ending is earned and quietly moving. ' +
    'It is not a perfect movie, but it is a generous one, and I would gladly watch it again with friends on a rainy evening. ';

async function cmdBench({ values }) {
    const clf = await load(modelPath(values), { threshold: parseThreshold(values.threshold) });
    const lengths = (values.lengths ?? '16,64,128,512').split(',').map((s) => parseIntOption('lengths', s.trim(), 2));
    const runsWanted = parseIntOption('runs', values.runs, 1);
    const pieces = clf.tokenizer.pieceIds(BENCH_TEXT.repeat(Math.ceil(clf.maxLength / 60) + 1)).ids;
    const results = [];
    for (const len of lengths) {
        if (len > clf.maxLength) { process.stderr.write(`bench: skipping length ${len} (the model takes at most ${clf.maxLength})\n`); continue; }
        const ids = [clf.tokenizer.clsId, ...pieces.slice(0, len - 2), clf.tokenizer.sepId];
        for (let i = 0; i < 3; i++) clf.classifyIds(ids);
        const ms = [];
        const start = performance.now();
        let r;
        while (runsWanted ? ms.length < runsWanted : (ms.length < 5 || (performance.now() - start < 500 && ms.length < 200))) {
            r = clf.classifyIds(ids);
            ms.push(r.ms);
        }
        ms.sort((a, b) => a - b);
        const p50 = percentile(ms, 50);
        results.push({ length: len, runs: ms.length, p50, p90: percentile(ms, 90), min: ms[0], flops: r.flops, denseFlops: clf.denseFlops(len), gflops: r.flops / (p50 * 1e6), keptLast: r.kept[r.kept.length - 1] });
    }
    clf.dispose();
    if (values.json) { process.stdout.write(JSON.stringify({ threshold: clf.threshold, results }) + '\n'); return; }
    const out = [`threshold ${clf.threshold}; time per call inside the runtime (ms)`, 'length  runs  p50       p90       min       MFLOPs   dense MFLOPs  GFLOP/s  kept(last layer)'];
    for (const r of results) {
        out.push(`${String(r.length).padEnd(8)}${String(r.runs).padEnd(6)}${r.p50.toFixed(3).padEnd(10)}${r.p90.toFixed(3).padEnd(10)}${r.min.toFixed(3).padEnd(10)}` +
            `${(r.flops / 1e6).toFixed(2).padEnd(9)}${(r.denseFlops / 1e6).toFixed(2).padEnd(14)}${r.gflops.toFixed(2).padEnd(9)}${r.keptLast}`);
    }
    process.stdout.write(out.join('\n') + '\n');
}

const COMMANDS = { classify: cmdClassify, eval: cmdEval, inspect: cmdInspect, bench: cmdBench };

export async function main(argv) {
    const [cmd, ...rest] = argv;
    if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
        const topic = cmd === 'help' && rest[0] in HELP ? rest[0] : 'main';
        process.stdout.write(HELP[topic] + '\n');
        return cmd === undefined ? 2 : 0;
    }
    if (cmd === '-v' || cmd === '--version') { process.stdout.write(VERSION + '\n'); return 0; }
    if (!(cmd in COMMANDS)) {
        process.stderr.write(`inforcoef: unknown command ${JSON.stringify(cmd)} (commands: ${Object.keys(COMMANDS).join(', ')}; see inforcoef --help)\n`);
        return 2;
    }
    try {
        const args = parse(cmd, rest);
        if (args.values.help) { process.stdout.write(HELP[cmd] + '\n'); return 0; }
        if (cmd !== 'classify' && cmd !== 'inspect' && args.positionals.length) throw new UsageError(`${cmd} takes no positional arguments (got ${JSON.stringify(args.positionals[0])})`);
        await COMMANDS[cmd](args);
        return 0;
    } catch (e) {
        if (e instanceof UsageError) {
            process.stderr.write(`inforcoef ${cmd}: ${e.message}\n(see inforcoef ${cmd} --help)\n`);
            return 2;
        }
        if (e instanceof InforcoefError || (e instanceof Error && /^(RangeError|TypeError)$/.test(e.name) && !process.env.INFORCOEF_DEBUG)) {
            process.stderr.write(`inforcoef ${cmd}: ${e.message}\n`);
            return 1;
        }
        throw e;
    }
}

// Run when executed (also through the npm bin link, a symlink: compare real paths).
const self = fileURLToPath(import.meta.url);
if (process.argv[1] && fs.realpathSync(process.argv[1]) === fs.realpathSync(self)) {
    process.stdout.on('error', (e) => { if (e.code === 'EPIPE') process.exit(0); throw e; }); // `| head` is fine
    main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
        process.stderr.write(`inforcoef: internal error: ${e.stack || e}\n`);
        process.exitCode = 1;
    });
}
