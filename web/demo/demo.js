// The demo page: load a model (with progress), classify as the user types, show label, score,
// latency, FLOPs and which tokens each layer keeps; a threshold slider re-runs live.
//
// URL parameters:
//   ?model=sst2                       a model of models.js by id (default: its first entry)
//   ?model=/tests/fixtures/x.safetensors   any model file on this server (same origin only)
//   &pair=1                           with a path: the model classifies text pairs
//
// No eval, no inline script or style: the page runs under the CSP of web/demo/README.md.
// The body's data-state (loading | ready | error) and #result's data-runs (a counter) tell tests
// where the page is.

import { load } from '../index.js';
import { denseTeacherFlops, teacherOf } from './flops.js';
import { MODELS, DEFAULT_MODEL } from './models.js';

const $ = (id) => document.getElementById(id);
const el = {
    model: $('model'), loading: $('loading'), loadStatus: $('load-status'), loadBytes: $('load-bytes'),
    loadProgress: $('load-progress'), error: $('error'), errorTitle: $('error-title'), errorDetail: $('error-detail'),
    app: $('app'), modelInfo: $('model-info'), labelA: $('label-a'), labelB: $('label-b'), textA: $('text-a'),
    textB: $('text-b'), fieldB: $('field-b'), examples: $('examples'), result: $('result'), label: $('label'),
    score: $('score'), scores: $('scores'), latency: $('latency'), flops: $('flops'),
    flopsTeacher: $('flops-teacher'), flopsTeacherLabel: $('flops-teacher-label'), flopsAll: $('flops-all'),
    tokens: $('tokens'), threshold: $('threshold'), thresholdValue: $('threshold-value'),
    thresholdReset: $('threshold-reset'), truncated: $('truncated'), layerView: $('layer-view'),
};

const TYPE_DEBOUNCE_MS = 150;
const THRESHOLD_SPAN = 8; // the slider covers the file's threshold +- this (a logit difference)
const PAIR_TASKS = new Set(['mrpc', 'rte', 'qqp', 'qnli', 'mnli', 'stsb', 'wnli']);

let clf = null; // the loaded classifier
let entry = null; // its models.js entry (or one made for a ?model= path)
let offered = MODELS; // what the picker lists: models.js, plus a ?model= path first
let loadSeq = 0; // bumps on every load, so a slow earlier load cannot win
let runs = 0;

// ---- formatting ----------------------------------------------------------------------------

function fmtFlops(v) {
    if (v >= 1e9) return `${(v / 1e9).toFixed(2)} GFLOPs`;
    if (v >= 1e6) return `${(v / 1e6).toFixed(2)} MFLOPs`;
    if (v >= 1e3) return `${(v / 1e3).toFixed(1)} kFLOPs`;
    return `${v} FLOPs`;
}
const fmtBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} kB`);
const fmtRatio = (r) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));
const fmtMs = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

// ---- choosing the model --------------------------------------------------------------------

const safeDecode = (s) => { try { return decodeURIComponent(s); } catch { return s; } };

// The models.js entry named by ?model=, or one made for a same-origin path. Throws on a foreign URL.
function entryFromQuery(params) {
    const q = params.get('model');
    if (!q) return DEFAULT_MODEL;
    const known = MODELS.find((m) => m.id === q);
    if (known) return known;
    const url = new URL(q, location.href);
    if (url.origin !== location.origin) throw new Error(`?model= must name a model on this server, not ${url.origin}`);
    const pair = params.get('pair') === '1';
    return { id: q, name: `${safeDecode(url.pathname.split('/').pop())} (from the URL)`, url: url.href, pair, inputs: pair ? ['Text A', 'Text B'] : ['Text'], examples: [], custom: true };
}

function fillPicker(current) {
    el.model.replaceChildren();
    offered = MODELS.includes(current) ? MODELS : [current, ...MODELS];
    for (const m of offered) {
        const o = document.createElement('option');
        o.value = m.id;
        o.textContent = m.name;
        el.model.append(o);
    }
    el.model.value = current.id;
}

const entryById = (id) => offered.find((m) => m.id === id) ?? DEFAULT_MODEL;

// ---- loading -------------------------------------------------------------------------------

function setState(state) {
    document.body.dataset.state = state;
    el.loading.hidden = state !== 'loading';
    el.error.hidden = state !== 'error';
    el.app.hidden = state !== 'ready';
    el.model.disabled = state === 'loading';
}

function showError(title, detail) {
    el.errorTitle.textContent = title;
    el.errorDetail.textContent = detail;
    setState('error');
}

// A readable account of why a model did not load.
function explainLoadError(e, m) {
    const where = m.custom ? new URL(m.url).pathname : m.url.replace(/^(\.\.\/)+/, '');
    const title = `Could not load ${m.custom ? where : `the ${m.name.split(' ·')[0]} model`}`;
    const msg = e?.message ?? String(e);
    if (e?.name === 'InforcoefError') {
        if (e.code === 'IO' && /HTTP 404/.test(msg)) return [title, `The model file ${where} is not on this server (HTTP 404). It may not have been built or shipped yet.`];
        if (e.code === 'IO') return [title, `The model file ${where} could not be downloaded: ${msg}`];
        if (['NOT_SAFETENSORS', 'TRUNCATED', 'NOT_INFORCOEF', 'UNSUPPORTED_VERSION', 'BAD_MODEL'].includes(e.code)) {
            return [title, `${where} is not a usable inforcoef model: ${msg}`];
        }
        return [title, msg];
    }
    if (e instanceof WebAssembly.CompileError || /WebAssembly/.test(msg)) {
        return [title, `This browser cannot run the SIMD WebAssembly runtime: ${msg}`];
    }
    return [title, msg];
}

async function loadModel(m) {
    const seq = ++loadSeq;
    const previous = entry;
    entry = m;
    setState('loading');
    el.loadStatus.textContent = `Downloading ${m.custom ? 'the model' : m.name.split(' ·')[0]}…`;
    el.loadBytes.textContent = '';
    el.loadProgress.removeAttribute('value'); // indeterminate until the first byte count
    if (clf) { clf.dispose(); clf = null; }
    const onProgress = ({ loaded, total }) => {
        if (seq !== loadSeq) return;
        if (total > 0) {
            el.loadProgress.max = total;
            el.loadProgress.value = loaded;
            el.loadBytes.textContent = `${fmtBytes(loaded)} of ${fmtBytes(total)}`;
        } else {
            el.loadBytes.textContent = fmtBytes(loaded);
        }
        if (total > 0 && loaded >= total) el.loadStatus.textContent = 'Starting the runtime…';
    };
    let c;
    try {
        c = await load(m.url, { onProgress });
    } catch (e) {
        if (seq !== loadSeq) return;
        const [title, detail] = explainLoadError(e, m);
        const opt = [...el.model.options].find((o) => o.value === m.id);
        if (opt && !opt.textContent.endsWith('(unavailable)')) opt.textContent += ' (unavailable)';
        showError(title, detail);
        return;
    }
    if (seq !== loadSeq) { c.dispose(); return; }
    if (!m.custom && !m.pair && PAIR_TASKS.has(c.config.task)) m = { ...m, pair: true };
    if (m.custom && PAIR_TASKS.has(c.config.task) && !m.pair) m = { ...m, pair: true, inputs: ['Text A', 'Text B'] };
    // The first calls of a fresh instance include the engine's JIT tiering of the tokenizer and the
    // wasm; a few throwaway runs make the latency shown for the user's first text representative.
    try {
        for (let i = 0; i < 3; i++) await c.explain(m.pair ? ['warm up', 'the runtime'] : 'warm up the runtime');
    } catch (e) {
        c.dispose();
        if (seq === loadSeq) showError(`Could not run ${m.custom ? 'the model' : m.name.split(' ·')[0]}`, e.message);
        return;
    }
    if (seq !== loadSeq) { c.dispose(); return; }
    clf = c;
    entry = m;
    setupInputs(m, previous);
    setupThreshold();
    describeModel(c, m);
    setState('ready');
    run();
}

function describeModel(c, m) {
    const layers = c.config.layers;
    const dtypes = Object.keys(c.info.bytesByDtype).filter((k) => c.info.bytesByDtype[k] > 0).join('/');
    const params = c.info.parameters.total;
    const paramText = params >= 1e6 ? `${(params / 1e6).toFixed(1)}M` : `${Math.round(params / 1e3)}k`;
    const samplers = layers.filter((l) => l.sampler).length;
    el.modelInfo.textContent = `${m.custom ? m.name : m.name.split(' · ')[0]}: ${layers.length} layers, hidden ${c.hiddenSize}, `
        + `${paramText} parameters (${dtypes}), ${fmtBytes(c.info.fileSize)}, ${samplers} token sampler${samplers === 1 ? '' : 's'}, `
        + `labels ${c.labels.join(' / ')}, up to ${c.maxLength} tokens.`;
}

// ---- inputs --------------------------------------------------------------------------------

const exampleTexts = (m) => (m?.examples ?? []).map((x) => (Array.isArray(x) ? x : [x, '']));

function setupInputs(m, previous) {
    el.labelA.textContent = m.inputs[0];
    el.labelB.textContent = m.inputs[1] ?? 'Second text';
    el.fieldB.hidden = !m.pair;
    el.textA.rows = m.pair ? 2 : 4;
    // Swap in this model's first example when the boxes are empty or still hold the last model's.
    const shown = [el.textA.value, el.textB.value];
    const stale = (shown[0] === '' && shown[1] === '') || exampleTexts(previous).some(([a, b]) => a === shown[0] && b === shown[1]);
    const ex = exampleTexts(m);
    if (stale) [el.textA.value, el.textB.value] = ex[0] ?? ['', ''];
    if (!m.pair) el.textB.value = '';
    el.examples.replaceChildren();
    ex.forEach(([a, b], i) => {
        const btn = document.createElement('button');
        btn.type = 'button';
        btn.className = 'example';
        btn.textContent = `Example ${i + 1}`;
        btn.title = m.pair ? `${a}\n${b}` : a;
        btn.addEventListener('click', () => { el.textA.value = a; el.textB.value = b; run(); });
        el.examples.append(btn);
    });
}

// ---- threshold -----------------------------------------------------------------------------

function setupThreshold() {
    const ft = clf.fileThreshold;
    el.threshold.min = String(ft - THRESHOLD_SPAN);
    el.threshold.max = String(ft + THRESHOLD_SPAN);
    el.threshold.value = String(ft);
    showThreshold();
}

// The slider's value; its left end means "keep every token".
function currentThreshold() {
    const v = Number(el.threshold.value);
    return v <= Number(el.threshold.min) ? -Infinity : v;
}

function showThreshold() {
    const t = currentThreshold();
    const atDefault = t === clf.fileThreshold;
    el.thresholdValue.textContent = t === -Infinity ? 'keep every token' : `${t.toFixed(2)}${atDefault ? ' (the model’s default)' : ''}`;
    el.thresholdReset.disabled = atDefault;
}

// ---- classify and show ---------------------------------------------------------------------

async function run() {
    if (!clf) return;
    const a = el.textA.value, b = el.textB.value;
    if (a.trim() === '' && (!entry.pair || b.trim() === '')) { clearResult(); return; }
    const input = entry.pair ? [a, b] : a;
    const c = clf;
    let r;
    const t0 = performance.now();
    try {
        r = await c.explain(input, { threshold: currentThreshold() });
    } catch (e) {
        if (c !== clf) return;
        clearResult(`Could not classify this text: ${e.message}`);
        return;
    }
    const total = performance.now() - t0;
    if (c !== clf) return; // the model changed meanwhile
    showResult(r, total);
}

function clearResult(message = 'Type some text to classify it.') {
    el.label.textContent = '–';
    el.score.textContent = message;
    el.result.dataset.label = '';
    el.scores.replaceChildren();
    for (const d of [el.latency, el.flops, el.flopsTeacher, el.flopsAll, el.tokens]) d.textContent = '–';
    el.truncated.hidden = true;
    el.layerView.replaceChildren();
    el.result.dataset.runs = String(++runs);
}

function showResult(r, totalMs) {
    const best = r.labels[0];
    el.label.textContent = best.label;
    el.score.textContent = `${(best.score * 100).toFixed(1)}%`;
    el.result.dataset.label = best.label;
    el.result.dataset.labelIndex = String(clf.labels.indexOf(best.label));

    el.scores.replaceChildren(...clf.labels.map((name) => {
        const s = r.labels.find((l) => l.label === name).score;
        const li = document.createElement('li');
        const text = document.createElement('span');
        text.textContent = name;
        const bar = document.createElement('span');
        bar.className = 'bar';
        const fill = document.createElement('span');
        fill.style.width = `${(s * 100).toFixed(1)}%`; // CSSOM, which a style-src 'self' policy allows
        bar.append(fill);
        const pct = document.createElement('span');
        pct.className = 'pct';
        pct.textContent = `${(s * 100).toFixed(1)}%`;
        li.append(text, bar, pct);
        if (name === best.label) li.className = 'best';
        return li;
    }));

    el.latency.textContent = `${fmtMs(r.ms)} ms runtime · ${fmtMs(totalMs)} ms total`;
    el.flops.textContent = fmtFlops(r.flops);
    const n = r.ids.length;
    // vs the dense teacher on as many tokens (when the model file names it), and vs this model keeping them all
    const teacherShape = teacherOf(clf.config);
    el.flopsTeacher.hidden = el.flopsTeacherLabel.hidden = !teacherShape;
    if (teacherShape) {
        const teacher = denseTeacherFlops(teacherShape, n, clf.numLabels);
        el.flopsTeacher.textContent = `${fmtRatio(teacher / r.flops)}× fewer (${fmtFlops(teacher)})`;
    }
    el.flopsAll.textContent = `${fmtRatio(r.denseFlops / r.flops)}× fewer (${fmtFlops(r.denseFlops)})`;
    const last = r.layers[r.layers.length - 1];
    el.tokens.textContent = `${n} in → ${last.kept} reach the last layer`;
    el.truncated.hidden = !r.truncated;
    el.truncated.textContent = r.truncated ? `The input was cut to the model’s ${clf.maxLength} tokens.` : '';
    renderLayers(r);
    el.result.dataset.runs = String(++runs);
}

// Each row a layer; each token kept, dropped at this layer, or gone (dropped earlier). Dropped
// tokens keep their place (faded) so the columns line up from row to row.
function renderLayers(r) {
    const n = r.tokens.length;
    const sepSeen = [];
    let seps = 0;
    for (let p = 0; p < n; p++) { sepSeen.push(seps); if (r.tokens[p] === '[SEP]') seps++; }
    const rows = [];
    let before = new Uint8Array(n).fill(1); // entering the first sampler: every token
    for (const layer of r.layers) {
        const now = new Uint8Array(n);
        if (layer.positions) for (const p of layer.positions) now[p] = 1;
        else now.fill(1); // a runtime without positions: counts only
        const row = document.createElement('div');
        row.className = 'layer-row';
        row.dataset.layer = String(layer.layer);
        row.dataset.kept = String(layer.kept);

        const head = document.createElement('div');
        head.className = 'layer-head';
        const name = document.createElement('strong');
        name.textContent = `Layer ${layer.layer}`;
        const count = document.createElement('span');
        count.className = 'kept-count';
        count.textContent = `${layer.kept}/${n} tokens`;
        const shape = document.createElement('span');
        shape.className = 'muted small';
        const att = layer.heads > 0 ? `${layer.heads} head${layer.heads === 1 ? '' : 's'}` : 'no attention';
        const ffn = layer.ffn > 0 ? `FFN ${layer.ffn}` : 'no FFN';
        shape.textContent = `${att} · ${ffn}${layer.sampler ? ' · sampler' : ''}`;
        head.append(name, count, shape);

        const toks = document.createElement('div');
        toks.className = 'layer-tokens';
        for (let p = 0; p < n; p++) {
            const t = r.tokens[p];
            const span = document.createElement('span');
            const state = now[p] ? 'kept' : before[p] ? 'dropped' : 'gone';
            let cls = `tok ${state}`;
            if (t.startsWith('##')) cls += ' cont';
            if (t === '[CLS]' || t === '[SEP]') cls += ' special';
            if (entry.pair && sepSeen[p] >= 1 && t !== '[SEP]') cls += ' seg-b';
            span.className = cls;
            span.textContent = t.startsWith('##') ? t.slice(2) : t;
            toks.append(span);
        }
        row.append(head, toks);
        rows.push(row);
        before = now;
    }
    el.layerView.replaceChildren(...rows);
}

// ---- wiring --------------------------------------------------------------------------------

let typingTimer = 0;
function scheduleRun() {
    clearTimeout(typingTimer);
    typingTimer = setTimeout(run, TYPE_DEBOUNCE_MS);
}

let sliderFrame = 0;
function onSlider() {
    showThreshold();
    if (sliderFrame) return; // one run per frame however fast the slider moves
    sliderFrame = requestAnimationFrame(() => { sliderFrame = 0; run(); });
}

function main() {
    el.textA.addEventListener('input', scheduleRun);
    el.textB.addEventListener('input', scheduleRun);
    el.threshold.addEventListener('input', onSlider);
    el.thresholdReset.addEventListener('click', () => { el.threshold.value = String(clf.fileThreshold); onSlider(); });
    el.model.addEventListener('change', () => {
        const m = entryById(el.model.value);
        const params = new URLSearchParams(location.search);
        params.set('model', m.id);
        if (!m.custom) params.delete('pair');
        history.replaceState(null, '', `?${params}`);
        loadModel(m);
    });

    let m;
    try {
        m = entryFromQuery(new URLSearchParams(location.search));
    } catch (e) {
        fillPicker(DEFAULT_MODEL);
        showError('Could not load the model', e.message);
        return;
    }
    fillPicker(m);
    loadModel(m);
}

main();
