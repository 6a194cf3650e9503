// Readers for the labelled TSV files `inforcoef eval` scores a model on (the GLUE release formats
// and the IMDb TSV in ../shared/data). Pure functions on text: decompressing .gz is the caller's job.
//
// Formats, recognised by their header line:
//   sst2  "sentence<TAB>label"                                      label 0/1
//   mrpc  "Quality<TAB>#1 ID<TAB>#2 ID<TAB>#1 String<TAB>#2 String"   (UTF-8 BOM allowed) label 0/1, a pair
//   rte   "index<TAB>sentence1<TAB>sentence2<TAB>label"              label entailment/not_entailment, a pair
//   imdb  "label<TAB>rating<TAB>id<TAB>text"                         label 0/1
//   cola  no header, "source<TAB>label<TAB>mark<TAB>sentence"        label 0/1 (only with format 'cola')
// Fields are split on TAB only: quotes are ordinary characters (the GLUE files hold unbalanced ones).

const FORMATS = {
    sst2: { header: ['sentence', 'label'], a: 0, b: -1, label: 1, classes: ['0', '1'] },
    mrpc: { header: ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'], a: 3, b: 4, label: 0, classes: ['0', '1'] },
    rte: { header: ['index', 'sentence1', 'sentence2', 'label'], a: 1, b: 2, label: 3, classes: ['entailment', 'not_entailment'] },
    imdb: { header: ['label', 'rating', 'id', 'text'], a: 3, b: -1, label: 0, classes: ['0', '1'] },
    cola: { header: null, columns: 4, a: 3, b: -1, label: 1, classes: ['0', '1'] },
};

export const DATASET_FORMATS = Object.keys(FORMATS);

// Gold-label classes of each format, in the order of the GLUE label ids (index = class id).
export function formatClasses(format) {
    return FORMATS[format].classes.slice();
}

// text: the whole file. Returns {format, pairs, classes, examples: [{a, b, label, line}]}, b null for
// single-sentence formats, line 1-based. Throws an Error naming the line on a malformed row.
export function parseDataset(text, { format = null } = {}) {
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    const lines = text.split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1);
    if (lines.length === 0) throw new Error('the data file is empty');
    const head = lines[0].split('\t');
    if (format === null) {
        format = Object.keys(FORMATS).find((f) => FORMATS[f].header && FORMATS[f].header.join('\t') === head.join('\t')) || null;
        if (format === null) {
            throw new Error(`unrecognised data file: its first line ${JSON.stringify(lines[0].slice(0, 80))} is none of the headers of ` +
                `SST-2, MRPC, RTE, IMDb (give --format cola for the header-less CoLA file)`);
        }
    } else if (!FORMATS[format]) {
        throw new Error(`unknown format ${JSON.stringify(format)} (known: ${DATASET_FORMATS.join(', ')})`);
    }
    const f = FORMATS[format];
    const columns = f.header ? f.header.length : f.columns;
    let first = 0;
    if (f.header) {
        if (head.join('\t') !== f.header.join('\t')) throw new Error(`line 1: expected the ${format} header ${JSON.stringify(f.header.join('\t'))}`);
        first = 1;
    }
    const examples = [];
    for (let i = first; i < lines.length; i++) {
        if (lines[i] === '') continue;
        const cols = lines[i].split('\t');
        if (cols.length !== columns) throw new Error(`line ${i + 1}: ${cols.length} tab-separated fields, the ${format} format has ${columns}`);
        examples.push({ a: cols[f.a], b: f.b >= 0 ? cols[f.b] : null, label: cols[f.label].trim(), line: i + 1 });
    }
    return { format, pairs: f.b >= 0, classes: f.classes.slice(), examples };
}

// Maps a gold label (a string from the file) to the index of one of the model's labels:
//   1. the model has a label of that name (case-insensitive): that label;
//   2. the label is one of the format's classes: its class id (GLUE order: SST-2/IMDb 0 negative
//      1 positive, MRPC 0 not-equivalent 1 equivalent, RTE 0 entailment 1 not_entailment, CoLA 0
//      unacceptable 1 acceptable), which must be < the model's number of labels.
// Returns a function label -> index that throws on a label it cannot map.
export function labelMapper(modelLabels, classes) {
    const byName = new Map(modelLabels.map((l, i) => [String(l).toLowerCase(), i]));
    return (gold) => {
        const named = byName.get(gold.toLowerCase());
        if (named !== undefined) return named;
        const id = classes.indexOf(gold);
        if (id >= 0 && id < modelLabels.length) return id;
        throw new Error(`gold label ${JSON.stringify(gold)} matches none of the model's labels (${modelLabels.join(', ')}) ` +
            `and is not a class id below ${modelLabels.length}`);
    };
}
