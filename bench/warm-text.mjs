// Text-to-answer speed of two or more copies of web/ (each with its own inforcoef.wasm), side by
// side in one process (not part of npm test): checks that a change to the tokenizer or the glue
// leaves `await clf(text)` as fast, the tokenizer included.
//
//   node bench/warm-text.mjs [--passes 3] [--data ../shared/data/glue/SST-2/dev.tsv] MODEL.safetensors DIR_A DIR_B ...
//
// Every copy loads MODEL through its own load(); each pass classifies every sentence of --data
// (first column, header skipped) with every copy in turn, sentence by sentence, so that both see
// the same machine state. Pass 1 meets each word for the first time (the tokenizer looks its
// pieces up), later passes hit the tokenizer's per-word cache. Prints, per pass and copy, the
// median and 90th percentile ms per sentence and the ratio of the medians to the first copy's.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opt, positionals } = parseArgs({
    allowPositionals: true,
    options: { passes: { type: 'string', default: '3' }, data: { type: 'string', default: '../shared/data/glue/SST-2/dev.tsv' } },
});
if (positionals.length < 3) {
    console.error('usage: node bench/warm-text.mjs [--passes 3] [--data TSV] MODEL.safetensors DIR_A DIR_B ...');
    process.exit(2);
}
const [model, ...dirs] = positionals;
const texts = readFileSync(opt.data, 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[0]);

const copies = [];
for (const dir of dirs) {
    const { load } = await import(pathToFileURL(path.resolve(dir, 'index.js')).href);
    const wasm = readFileSync(path.resolve(dir, 'inforcoef.wasm'));
    copies.push({ dir, clf: await load(model, { wasm }) });
}

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
console.log(`${model}: ${texts.length} sentences of ${opt.data}, ${opt.passes} passes, copies in turn per sentence`);
for (let pass = 1; pass <= Number(opt.passes); pass++) {
    const times = copies.map(() => []);
    for (const text of texts) {
        for (let c = 0; c < copies.length; c++) {
            const t = performance.now();
            await copies[c].clf(text);
            times[c].push(performance.now() - t);
        }
    }
    const base = quantile(times[0], 0.5);
    for (let c = 0; c < copies.length; c++) {
        const med = quantile(times[c], 0.5);
        console.log(`  pass ${pass}  ${copies[c].dir.padEnd(24)} median ${med.toFixed(3)} ms  p90 ${quantile(times[c], 0.9).toFixed(3)} ms  ` +
            `(${(med / base).toFixed(3)}x the first copy's median)`);
    }
}
for (const { clf } of copies) clf.dispose();
