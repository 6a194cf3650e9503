#!/usr/bin/env node
// Screenshot of the demo page for the README: serves the repo, opens the page in headless
// Chromium, waits for the model and a classification, writes a PNG.
//
//   node scripts/screenshot.mjs [--out docs/demo.png] [--query '?model=sst2'] [--text '...']
//
// Default query: the shipped SST-2 model if models/sst2.safetensors exists, else the sampled
// fixture (random weights, a toy vocabulary: fine for layout, not for labels).

import path from 'node:path';
import { FIXTURE_QUERY, REPO_ROOT, haveSst2, launchChromium } from '../tests/browser/browser.mjs';
import { startServer } from './serve.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const out = path.resolve(REPO_ROOT, opt('--out', 'docs/demo.png'));
const query = opt('--query', haveSst2() ? '?model=sst2' : FIXTURE_QUERY);
const text = opt('--text', null);
const dark = args.includes('--dark');

const srv = await startServer({ port: 0 });
const browser = await launchChromium();
try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1, colorScheme: dark ? 'dark' : 'light' });
    await page.goto(`${srv.url}web/demo/${query}`);
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 60_000 });
    const state = await page.getAttribute('body', 'data-state');
    if (state === 'error') {
        console.log(`the page shows an error: ${await page.textContent('#error-detail')}`);
    } else if (text !== null) {
        const runs = Number(await page.getAttribute('#result', 'data-runs'));
        await page.fill('#text-a', text);
        await page.waitForFunction((n) => Number(document.querySelector('#result').dataset.runs) > n, runs);
    } else {
        await page.waitForFunction(() => Number(document.querySelector('#result').dataset.runs) > 0);
    }
    await page.screenshot({ path: out, fullPage: true });
    console.log(`wrote ${path.relative(REPO_ROOT, out)} (${query})`);
} finally {
    await browser.close();
    await srv.close();
}
