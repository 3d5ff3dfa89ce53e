/**
 * The text handling of transformers' slow `CLIPTokenizer` around BPE (models/clip/tokenization_clip.py):
 * the `BasicTokenizer` clean-up it falls back to when ftfy is absent, the CLIP pre-tokenisation regex,
 * and the `clean_up_tokenization` applied on decode (tokenization_utils_base.py). Python's whitespace
 * semantics are spelled out because JS's differ, and the fixtures come from the Python tokenizer.
 */

/** The CLIP regex (transformers' `self.pat`); the text is already lower-cased, `i` mirrors re.IGNORECASE. */
export const CLIP_PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

/** Python's str.isspace() set, used where Python strips/splits (JS \s differs on \x1c-\x1f, \x85, \ufeff). */
const PY_SPACE = '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
export const PY_SPLIT = new RegExp(`${PY_SPACE}+`, 'u');
export const PY_STRIP = new RegExp(`^${PY_SPACE}+|${PY_SPACE}+$`, 'gu');
export const PY_LSTRIP = new RegExp(`^${PY_SPACE}+`, 'u');
export const PY_RSTRIP = new RegExp(`${PY_SPACE}+$`, 'u');

/** BERT's notion of a CJK ideograph (BasicTokenizer._is_chinese_char). */
function isChineseChar(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

/**
 * transformers' BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize joined by spaces:
 * drop NUL/U+FFFD/control (category C*) chars, whitespace → space, space out CJK, NFC, split, lower-case.
 */
export function basicNormalize(text: string): string {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\t' || ch === '\n' || ch === '\r' || /\p{Zs}/u.test(ch)) cleaned += ' ';
    else if (cp === 0 || cp === 0xfffd || /\p{C}/u.test(ch)) continue;
    else if (isChineseChar(cp)) cleaned += ` ${ch} `;
    else cleaned += ch;
  }
  return cleaned.normalize('NFC').split(PY_SPLIT).filter((w) => w.length > 0).map((w) => w.toLowerCase()).join(' ');
}

/** transformers' `clean_up_tokenization` (clean_up_tokenization_spaces=True in the CLIP configs). */
export function cleanUpTokenization(s: string): string {
  return s.replaceAll(' .', '.').replaceAll(' ?', '?').replaceAll(' !', '!').replaceAll(' ,', ',')
    .replaceAll(" ' ", "'").replaceAll(" n't", "n't").replaceAll(" 'm", "'m").replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve").replaceAll(" 're", "'re");
}
