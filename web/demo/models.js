// The models the demo offers. Adding one is one line here.
//
//   id       short name, also the value of ?model= in the page URL
//   name     what the picker shows
//   url      the model file, relative to this folder (web/demo/)
//   pair     true: the task classifies a pair of texts (two text boxes)
//   inputs   the text boxes' labels
//   examples texts (or [a, b] pairs) the page offers as one-click inputs
//
// "FLOPs vs the dense teacher" needs no entry here: the model file names its teacher (the
// config's optional `teacher` key, written by train/export; see flops.js).
//
// The first entry is the default.

export const MODELS = [
    {
        id: 'sst2', name: 'SST-2 · movie review sentiment', url: '../../models/sst2.safetensors',
        pair: false, inputs: ['Review'],
        examples: [
            'A gorgeous, witty, seductive movie that I would happily watch again.',
            'The plot is a mess, the acting is wooden and the jokes never land.',
        ],
    },
    {
        id: 'imdb', name: 'IMDb · long movie reviews', url: '../../models/imdb.safetensors',
        pair: false, inputs: ['Review'],
        examples: [
            'I went in expecting little and came out delighted. The cast is wonderful, the script is sharp and funny, and the last twenty minutes are genuinely moving. One of the best films I have seen this year.',
            'Two hours I will never get back. The story makes no sense, the characters are paper thin, and the ending is so lazy that half the audience laughed. Avoid.',
        ],
    },
    {
        id: 'mrpc', name: 'MRPC · paraphrase', url: '../../models/mrpc.safetensors',
        pair: true, inputs: ['Sentence 1', 'Sentence 2'],
        examples: [
            ['The company said its profit rose 10 percent in the third quarter.', 'Third-quarter profit was up 10 percent, the company said.'],
            ['The company said its profit rose 10 percent in the third quarter.', 'The mayor will visit the new hospital on Friday.'],
        ],
    },
    {
        id: 'rte', name: 'RTE · entailment', url: '../../models/rte.safetensors',
        pair: true, inputs: ['Premise', 'Hypothesis'],
        examples: [
            ['A man is playing a guitar on a stage in front of a large crowd.', 'A man is performing music.'],
            ['A man is playing a guitar on a stage in front of a large crowd.', 'The stage is empty.'],
        ],
    },
];

export const DEFAULT_MODEL = MODELS[0];
