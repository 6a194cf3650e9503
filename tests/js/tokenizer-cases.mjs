// Hand-made tokenizer edge cases (single texts and pairs), shared by the agreement test and the
// hostile-input test. Each is meant to exercise one rule of web/tokenizer.js.

const longWord = 'supercalifragilisticexpialidocious'.repeat(3); // 102 code points
const cp100 = 'a'.repeat(100), cp101 = 'a'.repeat(101);

export const EDGE_TEXTS = [
    // empty, whitespace only, every White_Space kind (incl. Zs spaces, NEL, line/paragraph separators)
    '', ' ', '   \t\n\r  ', '\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000',
    'a\u00a0b\u2003c\u3000d\u2028e\u2029f\u0085g\u000bh\u000ci',
    // control and format characters, NUL, U+FFFD, BOM, zero-width, soft hyphen, bidi marks
    'a\u0000b', 'nul\u0000\u0000 only', '\u0000', '\ufffd', 'bad\ufffdchar', '\ufeffbom at start', 'zero\u200bwidth\u200cjoin\u200dx',
    'soft\u00adhyphen', 'bidi\u200e\u200f\u202a\u202etext', '\u0001\u0002\u0003\u001f\u007f\u0080\u009f', 'tab\tsep\u001ffields',
    'private \ue000\uf8ff use', 'astral private \u{f0000}\u{10fffd}', 'tag \u{e0041}\u{e0001} chars',
    // accents and combining marks (NFD + non-spacing-mark removal), precomposed vs decomposed
    'naïve café résumé façade Ångström', 'nai\u0308ve cafe\u0301', 'ÀÁÂÃÄÅ àáâãäå ÇçÑñ ØøÆæß', 'Crème Brûlée', 'İstanbul ıi',
    'e\u0301\u0323\u0300 stacked marks', 'a\u0323\u0301 vs a\u0301\u0323', 'x\u20dd enclosing mark', 'ক্ষ devanagari क्षत्रिय',
    'Tiếng Việt có dấu', 'ﬁ ligature ﬀ', 'Å angstrom sign K kelvin', 'Ǆ ǅ ǆ titlecase', '\u0301 leading mark', 'z\u0338 long solidus overlay',
    // Greek final sigma: the reference lower-cases character by character
    'ΟΔΟΣ ΣΑΣ Σ ΑΣ. ΟΔΟΣ\u0301', 'ὈΔΥΣΣΕΎΣ', 'Straße STRASSE ẞ',
    // CJK ideographs (BMP, compatibility, extensions incl. the astral planes), kana and hangul (not padded)
    '你好世界', '中文和English混合', '漢字\u4e00\u9fff\u3400\u4dbf', '\uf900\ufaff compat', '\u{20000}\u{2a6df}\u{2a700}\u{2b73f}\u{2b740}\u{2b81f}',
    'x\u{2b820}y\u{2b91f}z\u{2b920}w\u{2ceaf}v', '\u{2f800}\u{2fa1f} compat supplement', '\u{30000}\u{3134a} ext g', 'ひらがな カタカナ ｶﾀｶﾅ',
    '한국어 텍스트 \uac00\ud7a3', '日本語の文章です。', '《书名》「引号」，标点！',
    // emoji: astral, ZWJ sequences, skin tones, flags, keycaps, variation selectors
    'I love it 😀😂🎉', '👍🏽 thumbs', '👨‍👩‍👧‍👦 family', '🇺🇸🇫🇷 flags', '1️⃣ keycap', '❤️ heart ♥', '🥰 🫠 newer emoji',
    // punctuation: ASCII ranges, Unicode P*, symbols that are not punctuation
    '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', 'hello...world!!! ¿qué? ¡sí!', '“quotes” ‘single’ «guillemets» — – … ‧ ・',
    '$100 + 5% = €105 £ ¥ © ® ™ ° ± × ÷', 'email@example.com http://x.y/z?a=1&b=2', "don't won't it's", '#hashtag @mention',
    // special-token strings are plain text
    '[CLS] [SEP] [PAD] [UNK] [MASK]', '[cls]hello[sep]', '##ing ## #',
    // long words: exactly 100, 101 code points; 100+ with astral characters; long mixed word
    cp100, cp101, longWord, '😀'.repeat(60), 'é'.repeat(101), 'x' + '\u0301'.repeat(150), 'antidisestablishmentarianism',
    'pneumonoultramicroscopicsilicovolcanoconiosis', 'a'.repeat(99) + '.' + 'b'.repeat(120),
    // numbers, mixed scripts, RTL
    '3.14159 1,000,000 2nd 10th', 'Привет мир', 'مرحبا بالعالم', 'שלום עולם', 'Γειά σου Κόσμε', 'ไทย ภาษา',
    // newlines and HTML-ish text as in IMDb
    'line one<br /><br />line two', 'multi\nline\r\ntext',
    // lone surrogates (invalid UTF-16): treated as U+FFFD, i.e. removed
    '\ud800', 'ab\udc00cd', 'x\ud83dy', '\udfff\ud800 reversed', 'ok 😀 \ud83d',
];

export const EDGE_PAIRS = [
    ['', ''], ['a', ''], ['', 'b'], ['Is this a pair?', 'Yes, it is.'], ['naïve', 'NAÏVE'], ['你好', '😀'],
    ['[SEP]', '[CLS]'], ['\u0000', '\ufffd'], ['x\ud800', 'y\udc00'],
];

// Words repeated to a given number of pieces, for the truncation grid.
export function words(n, word = 'word') {
    return Array(n).fill(word).join(' ');
}
