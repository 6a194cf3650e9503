// Checks an exported ONNX graph against our runtime: node bench/check-onnx.mjs CASES.json
// (written by bench/export-onnx.py: the model file, the ONNX file(s) and a few inputs with the
// PyTorch reference logits). Runs every case in our wasm runtime (threshold -Infinity: every token
// kept, the graph the ONNX file holds), onnxruntime-node and onnxruntime-web on the float graph,
// and both onnxruntime engines on the int8 graph if there is one. Prints the largest logit
// difference of each against our runtime and against PyTorch; exits 1 if a float engine differs
// by more than 1e-3 (relative to max(1, |logit|)) or an int8 engine predicts another label than
// the float graph on more than one case.
import path from 'node:path';
import { openEngine, readJson } from './engines.mjs';

const file = process.argv[2];
if (!file) { console.error('usage: node bench/check-onnx.mjs CASES.json'); process.exit(2); }
const spec = readJson(file);
const cases = spec.cases.map((c) => ({ ids: Int32Array.from(c.ids), types: Int32Array.from(c.types), torch: c.torch }));

const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);
const maxRelDiff = (a, b) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]) / Math.max(1, Math.abs(b[i]))));

const ours = await openEngine({ kind: 'ours', path: spec.model, threshold: -Infinity });
const ref = [];
for (const c of cases) ref.push((await ours.run(c.ids, c.types)).logits);
let failed = false;
const d0 = Math.max(...cases.map((c, i) => maxRelDiff(ref[i], c.torch)));
console.log(`ours (${path.basename(spec.model)}, threshold -inf) vs PyTorch: max rel. logit diff ${d0.toExponential(2)}`);
if (d0 > 1e-3) failed = true;

const graphs = [['float', spec.onnx]];
if (spec.int8) graphs.push(['int8', spec.int8]);
for (const [kindOfGraph, onnx] of graphs) {
    for (const kind of ['ort-node', 'ort-web']) {
        const e = await openEngine({ kind, path: onnx });
        let dOurs = 0, dTorch = 0, flips = 0;
        for (const [i, c] of cases.entries()) {
            const got = (await e.run(c.ids, c.types)).logits;
            dOurs = Math.max(dOurs, maxRelDiff(got, ref[i]));
            dTorch = Math.max(dTorch, maxRelDiff(got, c.torch));
            if (argmax(got) !== argmax(ref[i])) flips++;
        }
        e.dispose();
        const bad = kindOfGraph === 'float' ? dOurs > 1e-3 : flips > 1;
        if (bad) failed = true;
        console.log(`${kind.padEnd(8)} ${kindOfGraph.padEnd(5)} ${path.basename(onnx)}: max rel. logit diff vs ours ${dOurs.toExponential(2)}, ` +
            `vs PyTorch ${dTorch.toExponential(2)}, other label than ours on ${flips}/${cases.length} cases (lengths ${cases.map((c) => c.ids.length).join(',')})${bad ? '  <-- MISMATCH' : ''}`);
    }
}
ours.dispose();
process.exit(failed ? 1 : 0);
