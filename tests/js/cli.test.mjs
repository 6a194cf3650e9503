// The CLI (web/cli.js), spawned as a process: commands, stdin, output formats, errors, exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { load } from '../../web/index.js';
import { CLI, fixturePath } from './helpers.mjs';

const MODEL = fixturePath('sampled');

function cli(args, input) {
    const r = spawnSync(process.execPath, [CLI, ...args], { input, encoding: 'utf8', timeout: 60000 });
    assert.equal(r.signal, null, `killed: ${args.join(' ')}`);
    return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'inforcoef-cli-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('help, version, usage errors', () => {
    let r = cli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['classify', 'eval', 'inspect', 'bench']) assert.match(r.out, new RegExp(c));
    r = cli([]);
    assert.equal(r.code, 2);
    assert.match(r.out, /usage: inforcoef COMMAND/);
    for (const c of ['classify', 'eval', 'inspect', 'bench']) {
        r = cli([c, '--help']);
        assert.equal(r.code, 0);
        assert.match(r.out, new RegExp(`usage: inforcoef ${c}`));
    }
    r = cli(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^\d+\.\d+\.\d+\n$/);
    r = cli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command "frobnicate"/);
    r = cli(['classify', '--model', MODEL, '--bogus', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /Unknown option '--bogus'/);
    r = cli(['classify', '--model', MODEL, '--threshold', 'high', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--threshold wants a number/);
    r = cli(['eval', '--model', MODEL]);
    assert.equal(r.code, 2);
    assert.match(r.err, /needs --data/);
    r = cli(['classify', '--model', MODEL, '--pair', 'only-one']);
    assert.equal(r.code, 2);
});

test('classify: arguments, pairs, top-k, JSON, threshold; same answers as the API', async () => {
    const clf = await load(MODEL);
    const texts = ['a fine film', 'dull and slow', 'naïve 😀'];
    let r = cli(['classify', '--model', MODEL, ...texts]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    for (let i = 0; i < 3; i++) {
        const [label, score, text] = lines[i].split('\t');
        const want = (await clf(texts[i]))[0];
        assert.equal(label, want.label);
        assert.equal(score, want.score.toFixed(4));
        assert.equal(text, texts[i]);
    }
    r = cli(['classify', '-m', MODEL, '--json', '-k', '0', '--pair', 'a man sleeps', 'a person rests']);
    assert.equal(r.code, 0, r.err);
    const obj = JSON.parse(r.out);
    assert.equal(obj.text, 'a man sleeps');
    assert.equal(obj.pair, 'a person rests');
    assert.deepEqual(obj.labels, await clf(['a man sleeps', 'a person rests'], { topK: null }));
    // "-t -inf" and "--threshold -2" as separate arguments
    for (const t of [['-t', '-inf'], ['--threshold', '-2'], ['--threshold=3']]) {
        r = cli(['classify', '-m', MODEL, '--json', ...t, 'some text here']);
        assert.equal(r.code, 0, r.err);
        const th = Number(t.join('=').split('=').pop().replace('-inf', '-Infinity'));
        assert.deepEqual(JSON.parse(r.out).labels, await clf('some text here', { threshold: th }));
    }
    clf.dispose();
});

test('classify reads standard input line by line (pairs split at TAB)', () => {
    let r = cli(['classify', '-m', MODEL], 'first line\nsecond line\n\nfourth\n');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trimEnd().split('\n').length, 4);
    r = cli(['classify', '-m', MODEL, '--pair', '--json'], 'a\tb\nc\td\n');
    assert.equal(r.code, 0, r.err);
    const objs = r.out.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(objs.map((o) => [o.text, o.pair]), [['a', 'b'], ['c', 'd']]);
});

test('classify without --model uses the shipped model, or says clearly that it is missing', () => {
    const r = cli(['classify', 'a good movie']);
    if (fs.existsSync(new URL('../../models/sst2.safetensors', import.meta.url))) {
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /^(positive|negative)\t/);
    } else {
        assert.equal(r.code, 1);
        assert.match(r.err, /no --model given, and the default model .*sst2\.safetensors is not there/);
    }
});

test('inspect: config, layers, parameter counts; JSON; errors', () => {
    let r = cli(['inspect', MODEL]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /hidden 24, head size 8, 3 layers, max length 48, vocab 120/);
    assert.match(r.out, /parameters {4}14438 total/);
    r = cli(['inspect', fixturePath('dense', 'i8'), '--json']);
    assert.equal(r.code, 0, r.err);
    const info = JSON.parse(r.out);
    assert.ok(info.bytesByDtype.I8 > 0);
    assert.equal(info.config.format_version, 1);
    const junk = path.join(tmp, 'junk.safetensors');
    fs.writeFileSync(junk, 'hello, I am not a model');
    r = cli(['inspect', junk]);
    assert.equal(r.code, 1);
    assert.match(r.err, /not a safetensors file/);
    const cut = path.join(tmp, 'cut.safetensors');
    fs.writeFileSync(cut, fs.readFileSync(MODEL).subarray(0, 30000));
    r = cli(['classify', '-m', cut, 'x']);
    assert.equal(r.code, 1);
    assert.match(r.err, /truncated/);
    r = cli(['inspect', path.join(tmp, 'absent.safetensors')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /no such file/);
});

test('eval: every data format, the report agrees with the API, progress on stderr', async () => {
    const files = {
        'sst2.tsv': 'sentence\tlabel\na fine film\t1\ndull and slow\t0\nit is ok\t1\n',
        'mrpc.tsv': '\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tHe said "yes".\tHe agreed.\n0\t3\t4\tIt rained.\tThe sun shone.\n',
        'rte.tsv': 'index\tsentence1\tsentence2\tlabel\n0\tA dog runs.\tAn animal moves.\tentailment\n1\tA dog runs.\tA cat sleeps.\tnot_entailment\n',
        'cola.tsv': 'src\t1\t\tThe cat sat.\nsrc\t0\t*\tCat the sat.\n',
    };
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(tmp, name), text);
    fs.writeFileSync(path.join(tmp, 'imdb.tsv.gz'), zlib.gzipSync('label\trating\tid\ttext\n0\t2\t0\tBad.<br />Very bad.\n1\t9\t1\tGreat!\n'));
    const clf = await load(MODEL);
    for (const [name, n, format] of [['sst2.tsv', 3], ['mrpc.tsv', 2], ['rte.tsv', 2], ['cola.tsv', 2, 'cola'], ['imdb.tsv.gz', 2]]) {
        const r = cli(['eval', '-m', MODEL, '--data', path.join(tmp, name), '--json', ...(format ? ['--format', format] : [])]);
        assert.equal(r.code, 0, `${name}: ${r.err}`);
        const rep = JSON.parse(r.out);
        assert.equal(rep.examples, n, name);
        assert.match(r.err, new RegExp(`eval ${n}/${n} \\(100%\\)`));
        // recompute the accuracy in-process
        const { parseDataset, labelMapper } = await import('../../web/datasets.js');
        let text = fs.readFileSync(path.join(tmp, name));
        if (name.endsWith('.gz')) text = zlib.gunzipSync(text);
        const d = parseDataset(text.toString('utf8'), { format: format ?? null });
        const map = labelMapper(clf.labels, d.classes);
        let correct = 0;
        for (const e of d.examples) {
            const top = (await clf(e.b === null ? e.a : [e.a, e.b]))[0];
            if (clf.labels.indexOf(top.label) === map(e.label)) correct++;
        }
        assert.equal(rep.correct, correct, name);
        assert.equal(rep.accuracy, correct / n);
        assert.ok(rep.meanFlops > 0 && rep.meanFlops <= rep.meanDenseFlops);
        assert.equal(rep.meanKept.length, clf.numLayers);
        for (const k of ['p50', 'p90', 'p99', 'max', 'mean']) assert.ok(rep.latencyMs[k] >= 0);
        assert.ok(rep.latencyMs.p50 <= rep.latencyMs.p90 && rep.latencyMs.p90 <= rep.latencyMs.p99);
    }
    // text report, quiet, limit
    let r = cli(['eval', '-m', MODEL, '--data', path.join(tmp, 'sst2.tsv'), '--limit', '2', '--quiet']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, '');
    assert.match(r.out, /accuracy {4}\d\.\d{4} \(\d\/2\)/);
    assert.match(r.out, /FLOPs .* ratio/);
    assert.match(r.out, /latency .* p50 .* p90 .* p99/);
    // a label that maps to nothing, a file that is not a data set
    fs.writeFileSync(path.join(tmp, 'badlabel.tsv'), 'sentence\tlabel\ngood\t1\nhmm\tmaybe\n');
    r = cli(['eval', '-m', MODEL, '--data', path.join(tmp, 'badlabel.tsv')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /line 3: gold label "maybe"/);
    r = cli(['eval', '-m', MODEL, '--data', MODEL]);
    assert.equal(r.code, 1);
    assert.match(r.err, /unrecognised data file/);
    clf.dispose();
});

test('bench: latency, FLOPs and kept tokens per length; skips lengths over the maximum', () => {
    let r = cli(['bench', '-m', MODEL, '--lengths', '8,48,64', '--runs', '3', '--json']);
    assert.equal(r.code, 0, r.err);
    const rep = JSON.parse(r.out);
    assert.deepEqual(rep.results.map((x) => x.length), [8, 48]);
    for (const x of rep.results) {
        assert.equal(x.runs, 3);
        assert.ok(x.p50 >= 0 && x.flops > 0 && x.flops <= x.denseFlops && x.keptLast >= 1);
    }
    assert.match(r.err, /skipping length 64/);
    r = cli(['bench', '-m', MODEL, '--lengths', '16', '--runs', '2']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^16 +2 +/m);
    r = cli(['bench', '-m', MODEL, '--lengths', '1']);
    assert.equal(r.code, 2);
});
