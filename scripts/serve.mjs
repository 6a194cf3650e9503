#!/usr/bin/env node
// Static file server for the demo page (web/demo/) on localhost.
//
//   node scripts/serve.mjs [--port 8080] [--host 127.0.0.1]      then open http://127.0.0.1:8080/
//
// It serves the repository root, but only below a whitelist of folders (web/, models/, and
// tests/fixtures/ so the page can be tried on the tiny fixture models): the page at
// /web/demo/index.html imports ../index.js, which fetches ../inforcoef.wasm and ../../models/*.
// Every response carries the Content-Security-Policy of web/demo/README.md, so a page that needs
// eval or inline script fails here the same way it would on a strict host.
//
// Safety: GET and HEAD only; the URL path is decoded once, must be absolute, must not contain NUL,
// backslashes or dot segments (no "..", no hidden files), and the resolved real path (symlinks
// followed) must still lie inside a whitelisted folder. No directory listings.
//
// Also a module: startServer({port, host, root}) -> {server, url, close()} (used by the browser tests).

import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Folders (relative to the root) that may be served; everything else is 404.
export const ALLOWED_DIRS = ['web', 'models', 'tests/fixtures'];

// The policy the page works under (stated in web/demo/README.md). 'wasm-unsafe-eval' lets
// WebAssembly.compile run; it does not allow JS eval.
export const CSP = [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
].join('; ');

const MIME = {
    '.html': 'text/html; charset=utf-8',
    '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8',
    '.css': 'text/css; charset=utf-8',
    '.json': 'application/json; charset=utf-8',
    '.wasm': 'application/wasm',
    '.svg': 'image/svg+xml',
    '.png': 'image/png',
    '.ico': 'image/x-icon',
    '.txt': 'text/plain; charset=utf-8',
    '.md': 'text/plain; charset=utf-8',
    '.ts': 'text/plain; charset=utf-8', // .d.ts files; never executed
    '.safetensors': 'application/octet-stream',
};

const BASE_HEADERS = {
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-cache', // revalidate each time: models and wasm change while developing
};

function send(res, status, text, extra = {}) {
    res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...extra });
    res.end(res.req.method === 'HEAD' ? undefined : text);
}

const isInside = (dir, p) => p === dir || p.startsWith(dir + path.sep);

// URL path -> the file to serve, or {status} when refused. root is a real path (no symlinks).
export async function resolveRequest(root, urlPath) {
    let rel;
    try { rel = decodeURIComponent(urlPath); } catch { return { status: 400 }; }
    if (!rel.startsWith('/') || rel.includes('\0') || rel.includes('\\')) return { status: 400 };
    const segments = rel.split('/').slice(1);
    // Reject ".", "..", hidden names (.git, .env) and empty inner segments ("//") outright instead
    // of normalising them: a request that needs normalising is not one the page makes.
    if (segments.some((s, i) => s.startsWith('.') || (s === '' && i !== segments.length - 1))) return { status: 404 };
    let file = path.join(root, ...segments);
    const allowed = ALLOWED_DIRS.map((d) => path.join(root, d));
    if (!allowed.some((d) => isInside(d, file))) return { status: 404 };
    let st;
    try { st = await stat(file); } catch { return { status: 404 }; }
    if (st.isDirectory()) {
        if (!rel.endsWith('/')) return { status: 301, location: rel + '/' };
        file = path.join(file, 'index.html');
        try { st = await stat(file); } catch { return { status: 404 }; }
    }
    if (!st.isFile()) return { status: 404 };
    // A symlink inside web/ must not lead out of the whitelist.
    let real;
    try { real = await realpath(file); } catch { return { status: 404 }; }
    if (!allowed.some((d) => isInside(d, real))) return { status: 404 };
    return { status: 200, file: real, size: st.size };
}

export async function startServer({ port = 8080, host = '127.0.0.1', root = REPO_ROOT, log = false } = {}) {
    const realRoot = await realpath(root);
    const server = createServer(async (req, res) => {
        const done = (status) => { if (log) console.log(`${status} ${req.method} ${req.url}`); };
        if (req.method !== 'GET' && req.method !== 'HEAD') {
            done(405);
            return send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
        }
        let pathname;
        try { pathname = new URL(req.url, 'http://localhost').pathname; } catch { done(400); return send(res, 400, 'bad request\n'); }
        if (pathname === '/') { done(302); return send(res, 302, 'see /web/demo/\n', { Location: '/web/demo/' }); }
        const r = await resolveRequest(realRoot, pathname);
        done(r.status);
        if (r.status === 301) return send(res, 301, `see ${r.location}\n`, { Location: encodeURI(r.location) });
        if (r.status !== 200) return send(res, r.status, r.status === 404 ? `not found: ${pathname}\n` : 'bad request\n');
        const type = MIME[path.extname(r.file).toLowerCase()] ?? 'application/octet-stream';
        res.writeHead(200, { ...BASE_HEADERS, 'Content-Type': type, 'Content-Length': r.size });
        if (req.method === 'HEAD') return res.end();
        const stream = createReadStream(r.file);
        stream.on('error', () => res.destroy());
        stream.pipe(res);
    });
    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    const { port: bound } = server.address();
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
    return { server, url, close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }) };
}

function parseArgs(argv) {
    const out = { port: Number(process.env.PORT) || 8080, host: '127.0.0.1' };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--port' || a === '-p') out.port = Number(argv[++i]);
        else if (a === '--host') out.host = argv[++i];
        else if (a === '--help' || a === '-h') {
            console.log('usage: node scripts/serve.mjs [--port N (default 8080, 0 = any free port)] [--host 127.0.0.1]');
            process.exit(0);
        } else throw new Error(`unknown argument ${a}`);
    }
    if (!Number.isInteger(out.port) || out.port < 0 || out.port > 65535) throw new Error(`bad port ${out.port}`);
    return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const opts = parseArgs(process.argv.slice(2));
    const { url } = await startServer({ ...opts, log: true });
    console.log(`inforcoef demo: ${url}web/demo/  (serving ${ALLOWED_DIRS.join(', ')} of ${REPO_ROOT}; Ctrl-C stops)`);
}
