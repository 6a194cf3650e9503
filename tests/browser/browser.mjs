// Shared by the browser tests and scripts/screenshot.mjs: Debian's Chromium, headless, driven by
// playwright-core, with the flags that keep it from talking to anything but the page.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

// playwright's launch() starts Chromium with a fresh temporary --user-data-dir of its own (and
// refuses one passed in args), removed again by close().
export const CHROMIUM_ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-quic', '--no-first-run', '--disable-sync',
];

export const haveChromium = () => existsSync(CHROMIUM);

export function launchChromium() {
    return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

// The model the page should use: the shipped SST-2 model when it exists, else a fixture (random
// weights: labels mean nothing, but loading, tokens, FLOPs and the slider all work).
export const SST2_PATH = path.join(REPO_ROOT, 'models/sst2.safetensors');
export const haveSst2 = () => existsSync(SST2_PATH);
export const FIXTURE_QUERY = '?model=/tests/fixtures/sampled.f32.safetensors';
