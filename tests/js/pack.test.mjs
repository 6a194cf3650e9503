// The npm package as users get it: `npm pack`, install the tarball into an empty project (offline:
// the package has no dependencies), import it, classify with a fixture model, run its CLI through
// the bin link, and type-check a TypeScript consumer against the shipped .d.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, fixturePath } from './helpers.mjs';

const root = ROOT.pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'inforcoef-pack-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const model = fixturePath('sampled');

test('npm pack ships the runtime, the API, the CLI and the types, and nothing else', () => {
    const out = execFileSync(npm, ['pack', '--json', '--pack-destination', tmp], { cwd: root, encoding: 'utf8' });
    const [info] = JSON.parse(out);
    const files = info.files.map((f) => f.path).sort();
    for (const f of ['package.json', 'web/index.js', 'web/index.d.ts', 'web/tokenizer.js', 'web/tokenizer.d.ts', 'web/unicode-tables.js',
        'web/cli.js', 'web/wasm.js', 'web/inforcoef.wasm', 'web/model-file.js', 'web/safetensors.js', 'web/datasets.js', 'web/errors.js']) {
        assert.ok(files.includes(f), `${f} missing from the package: ${files}`);
    }
    for (const f of files) assert.match(f, /^(package\.json|README\.md|LICENSE|web\/[^/]+\.(js|d\.ts|wasm)|models\/([^/]+\.safetensors|README\.md))$/, `unexpected file ${f}`);
    assert.ok(fs.existsSync(path.join(tmp, info.filename)));
    fs.renameSync(path.join(tmp, info.filename), path.join(tmp, 'inforcoef.tgz'));
});

test('installs offline into an empty project; import, classify, CLI and types work there', () => {
    const proj = path.join(tmp, 'consumer');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', path.join(tmp, 'inforcoef.tgz')], { cwd: proj, stdio: 'pipe' });
    const installed = path.join(proj, 'node_modules', 'inforcoef');
    assert.ok(fs.existsSync(path.join(installed, 'web', 'inforcoef.wasm')));

    // ES module consumer: the package entry, the tokenizer entry, the wasm found next to index.js
    fs.writeFileSync(path.join(proj, 'main.mjs'), `
        import { load, InforcoefError } from 'inforcoef';
        import { BertTokenizer } from 'inforcoef/tokenizer';
        const clf = await load(process.argv[2]);
        const one = await clf('a fine film', { topK: null });
        const ex = await clf.explain(['a man sleeps', 'a person rests']);
        let code = null;
        try { await load(new Uint8Array(16)); } catch (e) { code = e instanceof InforcoefError ? e.code : String(e); }
        console.log(JSON.stringify({ one, layers: ex.layers.length, tok: new BertTokenizer(['[CLS]', '[SEP]', '[UNK]', 'hi']).tokenize('Hi!'), code }));
        clf.dispose();
    `);
    const r = spawnSync(process.execPath, ['main.mjs', model], { cwd: proj, encoding: 'utf8', timeout: 60000 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout);
    assert.equal(got.one.length, 2);
    assert.ok(Math.abs(got.one[0].score + got.one[1].score - 1) < 1e-9);
    assert.equal(got.layers, 3);
    assert.deepEqual(got.tok, ['hi', '[UNK]']);
    assert.equal(got.code, 'NOT_SAFETENSORS');

    // the CLI through the bin link
    const bin = path.join(proj, 'node_modules', '.bin', 'inforcoef');
    let c = spawnSync(bin, ['classify', '--model', model, '--json', 'a fine film'], { cwd: proj, encoding: 'utf8', timeout: 60000 });
    assert.equal(c.status, 0, c.stderr);
    assert.deepEqual(JSON.parse(c.stdout).labels, [got.one[0]]);
    c = spawnSync(bin, ['inspect', model], { cwd: proj, encoding: 'utf8', timeout: 60000 });
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /parameters/);

    // a strict TypeScript consumer type-checks against the shipped declarations
    fs.writeFileSync(path.join(proj, 'check.ts'), `
        import { load, InforcoefError, type Classifier, type LabelScore, type Explanation } from 'inforcoef';
        import { BertTokenizer, type Encoding } from 'inforcoef/tokenizer';
        async function main(): Promise<void> {
            const clf: Classifier = await load('m.safetensors', { threshold: -Infinity, onProgress: (p) => console.log(p.loaded / p.total) });
            const one: LabelScore[] = await clf('text', { topK: 2 });
            const pair: LabelScore[] = await clf(['a', 'b']);
            const many: LabelScore[][] = await clf(['a', ['b', 'c'], { text: 'd', pair: 'e' }, 'f']);
            const ex: Explanation = await clf.explain('text');
            const kept: number = ex.layers[0].kept;
            const pos: number[] | null = ex.layers[0].positions;
            const r = clf.classifyIds([101, 102]);
            const f: Float32Array = r.logits;
            clf.threshold = 0.5;
            const enc: Encoding = clf.tokenizer.encode('a', 'b');
            const t = new BertTokenizer(['[CLS]', '[SEP]', '[UNK]'], { doLowerCase: false });
            console.log(one, pair, many, kept, pos, f, enc.ids.length, t.tokenize('x'), clf.info.parameters.total, clf.denseFlops(8));
            try { await load(new ArrayBuffer(0)); } catch (e) { if (e instanceof InforcoefError) console.log(e.code === 'TRUNCATED'); }
            clf.dispose();
        }
        void main;
    `);
    fs.writeFileSync(path.join(proj, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', lib: ['es2022', 'dom'], types: [] },
        files: ['check.ts'],
    }));
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const t = spawnSync(process.execPath, [tsc, '-p', proj], { cwd: proj, encoding: 'utf8', timeout: 120000 });
    assert.equal(t.status, 0, t.stdout + t.stderr);
});
