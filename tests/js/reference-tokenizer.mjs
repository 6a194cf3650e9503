// The reference for the tokenizer agreement test: Hugging Face `tokenizers` (Rust, native build
// shipped by the npm package @anush008/tokenizers), configured as bert-base-uncased's
// tokenizer.json is: BertNormalizer(clean_text, handle_chinese_chars, strip_accents = lowercase),
// BertPreTokenizer, WordPiece(unk [UNK], "##", max 100 chars), BERT template post-processor,
// LongestFirst truncation. No added tokens: special-token strings in the text are plain text,
// as in web/tokenizer.js.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function referenceTokenizer(vocab, { lowercase = true } = {}) {
    const { Tokenizer } = require('@anush008/tokenizers');
    const ids = {};
    vocab.forEach((t, i) => { ids[t] = i; });
    const cls = ids['[CLS]'], sep = ids['[SEP]'];
    const json = {
        version: '1.0', truncation: null, padding: null, added_tokens: [],
        normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
        pre_tokenizer: { type: 'BertPreTokenizer' },
        post_processor: {
            type: 'TemplateProcessing',
            single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
            pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
                { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
            special_tokens: { '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] } },
        },
        decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
        model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
    };
    return Tokenizer.fromString(JSON.stringify(json));
}
