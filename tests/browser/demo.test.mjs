// The demo page (web/demo/) in headless Chromium, served by scripts/serve.mjs with its CSP.
//
// Every page is opened through openPage(), which records console errors, uncaught exceptions,
// CSP violations and every request; each test ends with checkClean(): no errors, no violations,
// no request that leaves the local server.
//
// Until models/sst2.safetensors ships, the mechanics run on the sampled fixture (random weights:
// labels mean nothing) and the label test skips itself; once the file exists it runs.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startServer } from '../../scripts/serve.mjs';
import { load } from '../../web/index.js';
import { FIXTURE_QUERY, REPO_ROOT, haveChromium, haveSst2, launchChromium } from './browser.mjs';

const skip = haveChromium() ? false : 'no /usr/bin/chromium (apt-get install chromium)';
const LOAD_TIMEOUT = 30_000;

let srv, browser, origin, fixture;
before(async () => {
    if (skip) return;
    fixture = await load(path.join(REPO_ROOT, 'tests/fixtures/sampled.f32.safetensors')); // the page's model, in Node

    srv = await startServer({ port: 0 });
    origin = new URL(srv.url).origin;
    browser = await launchChromium();
});
after(async () => {
    fixture?.dispose();
    await browser?.close();
    await srv?.close();
});

// Opens the page (query: '?model=...') in a fresh context and starts recording.
async function openPage(query = '', { allowConsole = [] } = {}) {
    const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    const rec = { errors: [], requests: [], context, page, allowConsole };
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') rec.errors.push(`console.${m.type()}: ${m.text()}`); });
    page.on('pageerror', (e) => rec.errors.push(`uncaught: ${e.message}`));
    page.on('request', (r) => rec.requests.push(r.url()));
    await page.addInitScript(() => {
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const response = await page.goto(`${srv.url}web/demo/${query}`);
    rec.response = response;
    return rec;
}

async function waitLoaded(page, state = 'ready') {
    await page.waitForSelector(`body[data-state="${state}"]`, { timeout: LOAD_TIMEOUT });
}

const runs = async (page) => Number(await page.getAttribute('#result', 'data-runs'));

// Waits until the page has classified again after `before` runs.
async function waitRun(page, before) {
    await page.waitForFunction((n) => Number(document.querySelector('#result').dataset.runs) > n, before, { timeout: 10_000 });
}

// What the page shows after a run.
async function readResult(page) {
    return page.evaluate(() => {
        const q = (s) => document.querySelector(s);
        const rows = [...document.querySelectorAll('.layer-row')].map((row) => ({
            kept: Number(row.dataset.kept),
            keptTokens: [...row.querySelectorAll('.tok.kept')].map((t) => t.textContent),
            dropped: row.querySelectorAll('.tok.dropped').length,
            gone: row.querySelectorAll('.tok.gone').length,
            all: row.querySelectorAll('.tok').length,
        }));
        return {
            label: q('#label').textContent, score: q('#score').textContent, flops: q('#flops').textContent,
            teacher: q('#flops-teacher').textContent, teacherShown: !q('#flops-teacher').hidden, vsAll: q('#flops-all').textContent, latency: q('#latency').textContent, tokens: q('#tokens').textContent,
            rows, runs: Number(q('#result').dataset.runs), threshold: q('#threshold-value').textContent,
        };
    });
}

async function checkClean(rec) {
    const violations = await rec.page.evaluate(() => window.__cspViolations);
    assert.deepEqual(violations, [], 'CSP violations');
    const errors = rec.errors.filter((e) => !rec.allowConsole.some((re) => re.test(e)));
    assert.deepEqual(errors, [], 'console errors or uncaught exceptions');
    const foreign = rec.requests.filter((u) => !u.startsWith(origin + '/') && !u.startsWith('data:') && !u.startsWith('blob:'));
    assert.deepEqual(foreign, [], 'requests outside the local server');
    await rec.context.close();
}

const parseFlops = (s) => {
    const m = /([\d.]+) (k|M|G)?FLOPs/.exec(s);
    return Number(m[1]) * { k: 1e3, M: 1e6, G: 1e9, undefined: 1 }[m[2]];
};

// Real words of the fixture's 120-token vocabulary, so that tokens are not all [UNK].
const FIXTURE_TEXT = 'the world was new, and he said that it was the first time; two years later the city could not do more';
const nTokens = (a, b = null) => fixture.tokenizer.encode(a, b).ids.length;

test('loads the model with progress, under the CSP, and classifies the prefilled or typed text', { skip }, async () => {
    const rec = await openPage(FIXTURE_QUERY);
    const { page } = rec;
    assert.equal(rec.response.headers()['content-security-policy']?.includes("script-src 'self' 'wasm-unsafe-eval'"), true);
    await waitLoaded(page);
    // the progress bar was driven by onProgress: full, with a byte count
    const progress = await page.$eval('#load-progress', (p) => [p.value, p.max]);
    const size = readFileSync(path.join(REPO_ROOT, 'tests/fixtures/sampled.f32.safetensors')).length;
    assert.deepEqual(progress, [size, size]);
    assert.match(await page.textContent('#load-bytes'), /63 kB of 63 kB/);
    assert.match(await page.textContent('#model-info'), /3 layers, hidden 24, .*2 token samplers, labels negative \/ positive, up to 48 tokens/);
    assert.equal(await page.isVisible('#field-b'), false);

    const before = await runs(page);
    await page.fill('#text-a', FIXTURE_TEXT);
    await waitRun(page, before);
    const r = await readResult(page);
    assert.ok(['negative', 'positive'].includes(r.label), r.label);
    assert.match(r.score, /^\d+\.\d%$/);
    assert.match(r.latency, /^[\d.]+ ms runtime · [\d.]+ ms total$/);
    const n = nTokens(FIXTURE_TEXT);
    assert.match(r.tokens, new RegExp(`^${n} in → \\d+ reach the last layer$`));
    assert.equal(r.rows.length, 3);
    assert.equal(r.rows[0].kept, n); // layer 0 of the fixture has no sampler
    // the same kept counts as the API in Node on the same text and threshold
    const ex = await fixture.explain(FIXTURE_TEXT);
    assert.deepEqual(r.rows.map((row) => row.kept), ex.layers.map((l) => l.kept));
    assert.deepEqual(r.rows.map((row) => row.keptTokens.join(' ')), ex.layers.map((l) => l.tokens.map((t) => t.replace(/^##/, '')).join(' ')));
    for (const row of r.rows) {
        assert.equal(row.all, n); // every row shows every token, kept or not
        assert.equal(row.keptTokens.length, row.kept);
        assert.equal(row.keptTokens[0], '[CLS]');
    }
    for (let i = 1; i < 3; i++) assert.ok(r.rows[i].kept <= r.rows[i - 1].kept);
    assert.ok(parseFlops(r.flops) > 0);
    assert.match(r.vsAll, /^[\d.]+× fewer \([\d.]+ kFLOPs\)$/);
    assert.equal(r.teacherShown, false); // a model from the URL names no teacher
    await checkClean(rec);
});

test('classifies as the user types, debounced', { skip }, async () => {
    const rec = await openPage(FIXTURE_QUERY);
    const { page } = rec;
    await waitLoaded(page);
    await page.fill('#text-a', '');
    await page.waitForFunction(() => document.querySelector('#label').textContent === '–');
    const before = await runs(page);
    const text = 'the city was new';
    await page.type('#text-a', text, { delay: 15 }); // keystrokes faster than the debounce
    await waitRun(page, before);
    await page.waitForTimeout(400); // let any straggling run land
    const r = await readResult(page);
    assert.ok(r.runs - before < text.length / 2, `${r.runs - before} runs for ${text.length} keystrokes`);
    assert.match(r.tokens, /^6 in /); // [CLS] the city was new [SEP]
    assert.deepEqual(r.rows[0].keptTokens, ['[CLS]', 'the', 'city', 'was', 'new', '[SEP]']);
    await checkClean(rec);
});

test('the threshold slider re-runs: more tokens dropped and fewer FLOPs as it rises, everything kept at its left end', { skip }, async () => {
    const rec = await openPage(FIXTURE_QUERY);
    const { page } = rec;
    await waitLoaded(page);
    let n = await runs(page);
    await page.fill('#text-a', FIXTURE_TEXT);
    await waitRun(page, n);
    const atDefault = await readResult(page);
    assert.match(atDefault.threshold, /^0\.50 \(the model’s default\)$/);

    n = await runs(page);
    await page.focus('#threshold');
    await page.keyboard.press('Home'); // left end: keep every token
    await waitRun(page, n);
    const all = await readResult(page);
    assert.equal(all.threshold, 'keep every token');
    const len = nTokens(FIXTURE_TEXT);
    assert.deepEqual(all.rows.map((r) => r.kept), [len, len, len]);
    assert.ok(all.rows.every((r) => r.dropped === 0 && r.gone === 0));
    assert.match(all.vsAll, /^1\.0× fewer /);
    assert.equal(all.flops, all.vsAll.replace(/.*\((.*)\)$/, '$1')); // every token kept: the dense count

    n = await runs(page);
    await page.keyboard.press('End'); // right end: drop as much as the samplers will
    await waitRun(page, n);
    const most = await readResult(page);
    assert.match(most.threshold, /^8\.50$/);

    const kept = (x) => x.rows.reduce((s, r) => s + r.kept, 0);
    assert.ok(kept(all) > kept(atDefault) && kept(atDefault) > kept(most), `${kept(all)} > ${kept(atDefault)} > ${kept(most)}`);
    assert.ok(parseFlops(all.flops) > parseFlops(atDefault.flops) && parseFlops(atDefault.flops) > parseFlops(most.flops),
        `${all.flops} > ${atDefault.flops} > ${most.flops}`);
    assert.ok(most.rows[2].dropped + most.rows[1].dropped > 0);
    assert.equal(most.rows[2].keptTokens[0], '[CLS]'); // never dropped

    n = await runs(page);
    await page.click('#threshold-reset');
    await waitRun(page, n);
    const back = await readResult(page);
    assert.deepEqual(back.rows.map((r) => r.kept), atDefault.rows.map((r) => r.kept));
    assert.equal(back.flops, atDefault.flops);
    await checkClean(rec);
});

test('pair models get two text boxes and classify the pair', { skip }, async () => {
    const rec = await openPage(`${FIXTURE_QUERY}&pair=1`);
    const { page } = rec;
    await waitLoaded(page);
    assert.equal(await page.isVisible('#field-b'), true);
    const n = await runs(page);
    await page.fill('#text-a', 'the city was new');
    await page.fill('#text-b', 'he said that');
    await waitRun(page, n);
    await page.waitForTimeout(300); // both boxes' input events collapse into one run
    const r = await readResult(page);
    assert.match(r.tokens, /^10 in /); // [CLS] 4 [SEP] 3 [SEP]
    assert.deepEqual(r.rows[0].keptTokens, ['[CLS]', 'the', 'city', 'was', 'new', '[SEP]', 'he', 'said', 'that', '[SEP]']);
    assert.equal(await page.locator('.layer-row[data-layer="0"] .tok.seg-b').count(), 3);
    await checkClean(rec);
});

test('keeps classifying offline once the model has loaded', { skip }, async () => {
    const rec = await openPage(FIXTURE_QUERY);
    const { page, context } = rec;
    await waitLoaded(page);
    await context.setOffline(true);
    const requestsBefore = rec.requests.length;
    const n = await runs(page);
    await page.fill('#text-a', 'two years later');
    await waitRun(page, n);
    const r = await readResult(page);
    assert.match(r.tokens, /^5 in /);
    assert.ok(['negative', 'positive'].includes(r.label));
    assert.equal(rec.requests.length, requestsBefore, 'classifying made a request');
    await context.setOffline(false);
    await checkClean(rec);
});

test('a missing model file shows a readable error', { skip }, async () => {
    const rec = await openPage('?model=/models/no-such-model.safetensors', { allowConsole: [/Failed to load resource: .*404/] });
    const { page } = rec;
    await waitLoaded(page, 'error');
    assert.equal(await page.isVisible('#error'), true);
    assert.equal(await page.isVisible('#app'), false);
    assert.equal(await page.textContent('#error-title'), 'Could not load /models/no-such-model.safetensors');
    assert.equal(await page.textContent('#error-detail'),
        'The model file /models/no-such-model.safetensors is not on this server (HTTP 404). It may not have been built or shipped yet.');
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    await checkClean(rec);
});

test('a file that is not a model, and a model on another origin, show readable errors', { skip }, async () => {
    let rec = await openPage('?model=/web/demo/index.html');
    await waitLoaded(rec.page, 'error');
    assert.match(await rec.page.textContent('#error-detail'), /^\/web\/demo\/index\.html is not a usable inforcoef model: .+/);
    await checkClean(rec);

    rec = await openPage('?model=https://example.com/sst2.safetensors');
    await waitLoaded(rec.page, 'error');
    assert.equal(await rec.page.textContent('#error-detail'), '?model= must name a model on this server, not https://example.com');
    await checkClean(rec); // and no request went to example.com
});

test('the model picker lists the shipped models and switches between them', { skip }, async () => {
    const rec = await openPage(FIXTURE_QUERY, { allowConsole: [/Failed to load resource: .*404/] });
    const { page } = rec;
    await waitLoaded(page);
    const options = await page.$$eval('#model option', (os) => os.map((o) => o.value));
    assert.deepEqual(options, ['/tests/fixtures/sampled.f32.safetensors', 'sst2', 'imdb', 'mrpc', 'rte']);

    // MRPC: a pair task. Loads when shipped; a readable error until then.
    await page.selectOption('#model', 'mrpc');
    assert.match(page.url(), /\?model=mrpc$/);
    if (existsSync(path.join(REPO_ROOT, 'models/mrpc.safetensors'))) {
        await waitLoaded(page);
        assert.equal(await page.isVisible('#field-b'), true);
        assert.equal(await page.textContent('#label-b'), 'Sentence 2');
    } else {
        await waitLoaded(page, 'error');
        assert.equal(await page.textContent('#error-title'), 'Could not load the MRPC model');
        assert.match(await page.textContent('#error-detail'), /models\/mrpc\.safetensors is not on this server \(HTTP 404\)/);
        assert.match(await page.$eval('#model option[value="mrpc"]', (o) => o.textContent), /\(unavailable\)$/);
    }

    // back to the fixture: single-text again, classifying
    await page.selectOption('#model', '/tests/fixtures/sampled.f32.safetensors');
    await waitLoaded(page);
    assert.equal(await page.isVisible('#field-b'), false);
    const n = await runs(page);
    await page.fill('#text-a', 'the city');
    await waitRun(page, n);
    assert.match((await readResult(page)).tokens, /^4 in /);
    await checkClean(rec);
});

// The real test of the page: the shipped SST-2 model, loaded by default, gets reviews right.
test('SST-2 (default model): a positive and a negative review get their labels', { skip: skip || (!haveSst2() && 'models/sst2.safetensors not shipped yet') }, async () => {
    const rec = await openPage('');
    const { page } = rec;
    await waitLoaded(page);
    assert.equal(await page.inputValue('#model'), 'sst2');
    const reviews = [
        ['A gorgeous, witty and deeply moving film; the best I have seen all year.', 'positive'],
        ['A dull, lifeless mess with wooden acting and a plot that goes nowhere.', 'negative'],
    ];
    for (const [text, label] of reviews) {
        const n = await runs(page);
        await page.fill('#text-a', text);
        await waitRun(page, n);
        const r = await readResult(page);
        assert.equal(r.label, label, text);
        assert.equal(r.teacherShown, true);
        assert.match(r.teacher, /^[\d.]+× fewer \([\d.]+ [kMG]FLOPs\)$/);
    }
    await checkClean(rec);
});
