// scripts/serve.mjs: MIME types, the CSP header, and refusal of everything outside the whitelist
// (traversal in its encoded forms, hidden files, other methods). Raw http.request, because fetch()
// would normalise the ".." away before the server sees it.

import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CSP, startServer } from '../../scripts/serve.mjs';

let srv, port;
before(async () => { srv = await startServer({ port: 0 }); port = srv.server.address().port; });
after(() => srv?.close());

function get(rawPath, method = 'GET') {
    return new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: rawPath, method }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
    });
}

test('serves the page, modules, wasm and models with their MIME types and the CSP', async () => {
    const cases = [
        ['/web/demo/', 'text/html; charset=utf-8'],
        ['/web/demo/index.html', 'text/html; charset=utf-8'],
        ['/web/demo/demo.js', 'text/javascript; charset=utf-8'],
        ['/web/index.js', 'text/javascript; charset=utf-8'],
        ['/web/demo/style.css', 'text/css; charset=utf-8'],
        ['/web/demo/icon.svg', 'image/svg+xml'],
        ['/web/inforcoef.wasm', 'application/wasm'],
        ['/tests/fixtures/sampled.f32.safetensors', 'application/octet-stream'],
    ];
    for (const [p, type] of cases) {
        const r = await get(p);
        assert.equal(r.status, 200, p);
        assert.equal(r.headers['content-type'], type, p);
        assert.equal(r.headers['content-security-policy'], CSP, p);
        assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
        assert.equal(Number(r.headers['content-length']), r.body.length, p);
    }
    const wasm = await get('/web/inforcoef.wasm');
    assert.deepEqual([...wasm.body.subarray(0, 4)], [0, 0x61, 0x73, 0x6d]); // "\0asm"
    const head = await get('/web/inforcoef.wasm', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers['content-length']), wasm.body.length);
});

test('/ redirects to the page; a folder without its slash redirects to it', async () => {
    const r = await get('/');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/web/demo/');
    const d = await get('/web/demo');
    assert.equal(d.status, 301);
    assert.equal(d.headers.location, '/web/demo/');
});

test('refuses traversal, hidden files, paths outside the whitelist and other methods', async () => {
    const refused = [
        '/package.json', '/build.sh', '/src/inforcoef.h', '/node_modules/playwright-core/package.json',
        '/web/../package.json', '/web/%2e%2e/package.json', '/web/%2E%2E/%2E%2E/etc/passwd',
        '/web/demo/..%2f..%2fpackage.json', '/web/..%5c..%5cpackage.json', '/web%2f..%2fpackage.json',
        '/tests/fixtures/../../package.json', '/.git/config', '/web/.hidden', '/web//index.js',
        '/web/index.js%00.png', '/models/', '/web/', '/web/no-such-file.js', '/web/demo/%ff',
        '//etc/passwd', '/tests/js/api.test.mjs',
    ];
    for (const p of refused) {
        const r = await get(p);
        assert.ok(r.status === 404 || r.status === 400, `${p} -> ${r.status}`);
        assert.ok(!r.body.toString().includes('"name": "inforcoef"'), p);
        assert.equal(r.headers['content-security-policy'], CSP, p);
    }
    for (const method of ['POST', 'PUT', 'DELETE']) {
        const r = await get('/web/demo/index.html', method);
        assert.equal(r.status, 405, method);
        assert.equal(r.headers.allow, 'GET, HEAD');
    }
});

test('a symlink inside a served folder cannot lead outside it', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ifc-serve-'));
    try {
        mkdirSync(path.join(root, 'web'));
        writeFileSync(path.join(root, 'secret.txt'), 'secret');
        writeFileSync(path.join(root, 'web', 'ok.txt'), 'ok');
        symlinkSync(path.join(root, 'secret.txt'), path.join(root, 'web', 'link.txt'));
        const s = await startServer({ port: 0, root });
        try {
            const base = `http://127.0.0.1:${s.server.address().port}`;
            const ok = await fetch(`${base}/web/ok.txt`);
            assert.equal(ok.status, 200);
            assert.equal(await ok.text(), 'ok');
            const link = await fetch(`${base}/web/link.txt`);
            assert.equal(link.status, 404);
            assert.ok(!(await link.text()).includes('secret'));
        } finally { await s.close(); }
    } finally { rmSync(root, { recursive: true, force: true }); }
});
