// TSV readers (web/datasets.js) on the real data files and on malformed ones; gold-label mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { parseDataset, labelMapper } from '../../web/datasets.js';

const DATA = new URL('../../../shared/data/', import.meta.url);
const read = (p) => {
    let b = fs.readFileSync(new URL(p, DATA));
    if (p.endsWith('.gz')) b = zlib.gunzipSync(b);
    return b.toString('utf8');
};

test('reads the GLUE dev sets and IMDb test with their row counts', () => {
    const want = {
        'glue/SST-2/dev.tsv': ['sst2', 872, false], 'glue/MRPC/dev.tsv': ['mrpc', 408, true],
        'glue/RTE/dev.tsv': ['rte', 277, true], 'imdb/test.tsv.gz': ['imdb', 25000, false],
    };
    for (const [p, [format, n, pairs]] of Object.entries(want)) {
        const d = parseDataset(read(p));
        assert.equal(d.format, format, p);
        assert.equal(d.examples.length, n, p);
        assert.equal(d.pairs, pairs, p);
        assert.ok(d.examples.every((e) => typeof e.a === 'string' && e.a.length > 0 && (pairs ? typeof e.b === 'string' : e.b === null)));
        assert.ok(d.examples.every((e) => d.classes.includes(e.label)), `${p}: labels ${[...new Set(d.examples.map((e) => e.label))]}`);
    }
    const cola = parseDataset(read('glue/CoLA/dev.tsv'), { format: 'cola' });
    assert.equal(cola.examples.length, 1043);
    const mrpc = parseDataset(read('glue/MRPC/dev.tsv'));
    assert.equal(mrpc.examples[0].b, '"The foodservice pie business does not fit our long-term growth strategy.'); // quotes are text
    assert.equal(mrpc.examples[0].line, 2);
});

test('malformed files: unknown header, wrong field count, empty, unknown format', () => {
    assert.throws(() => parseDataset('a\tb\tc\n1\t2\t3\n'), /unrecognised data file/);
    assert.throws(() => parseDataset('sentence\tlabel\ngood\t1\nbad\n'), /line 3: 1 tab-separated fields, the sst2 format has 2/);
    assert.throws(() => parseDataset(''), /empty/);
    assert.throws(() => parseDataset('x', { format: 'squad' }), /unknown format/);
    assert.throws(() => parseDataset('sentence\tlabel\n', { format: 'rte' }), /expected the rte header/);
    const crlf = parseDataset('\ufeffsentence\tlabel\r\ngood\t1\r\n\r\nbad\t0\r\n');
    assert.deepEqual(crlf.examples.map((e) => [e.a, e.label]), [['good', '1'], ['bad', '0']]);
});

test('gold labels map by model label name, else by GLUE class id', () => {
    const sst = labelMapper(['negative', 'positive'], ['0', '1']);
    assert.equal(sst('0'), 0);
    assert.equal(sst('1'), 1);
    assert.equal(sst('Positive'), 1);
    assert.throws(() => sst('2'), /matches none/);
    const rteByName = labelMapper(['not_entailment', 'entailment'], ['entailment', 'not_entailment']);
    assert.equal(rteByName('entailment'), 1);
    const rteById = labelMapper(['yes', 'no'], ['entailment', 'not_entailment']);
    assert.equal(rteById('entailment'), 0);
    assert.equal(rteById('not_entailment'), 1);
    assert.throws(() => labelMapper(['only'], ['0', '1'])('1'), /not a class id below 1/);
});
