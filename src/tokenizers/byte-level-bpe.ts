/**
 * Byte-level BPE as in GPT-2/CLIP (transformers' tokenization_clip.py `bytes_to_unicode` and
 * `CLIPTokenizer.bpe`): text bytes become visible characters, then each word is merged pair by pair
 * in merges.txt rank order, with CLIP's `</w>` end-of-word marker on the last symbol.
 */

/**
 * GPT-2/CLIP `bytes_to_unicode`: printable bytes map to themselves, the others to code points 256+,
 * so every byte string becomes a string of visible characters that BPE can work on.
 */
function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCodePoint(printable(b) ? b : 256 + extra++);
  }
  return table;
}

/** The 256 byte-level characters in byte order (`bytes_to_unicode()`). */
export const BYTE_ENCODER: readonly string[] = bytesToUnicode();
const BYTE_DECODER = new Map(BYTE_ENCODER.map((ch, b) => [ch, b]));
const UTF8 = new TextEncoder();

/** The UTF-8 bytes of `text`, each as its byte-level character. */
export function byteEncode(text: string): string {
  let word = '';
  for (const b of UTF8.encode(text)) word += BYTE_ENCODER[b];
  return word;
}

/**
 * The text of joined vocabulary pieces: byte-level characters back to bytes (characters outside the table,
 * e.g. of added tokens, as their own UTF-8), decoded with invalid UTF-8 → U+FFFD.
 */
export function byteDecode(pieces: Iterable<string>): string {
  const bytes: number[] = [];
  for (const piece of pieces) {
    for (const ch of piece) {
      const b = BYTE_DECODER.get(ch);
      if (b !== undefined) bytes.push(b);
      else bytes.push(...UTF8.encode(ch));
    }
  }
  return new TextDecoder('utf-8').decode(new Uint8Array(bytes));
}

/** The merge loop of CLIP's BPE over one merges.txt ranking, with the slow tokenizer's word cache. */
export class BytePairEncoding {
  private readonly cache: Map<string, string[]>;

  /** `ranks` maps "left right" to the merge's rank; `seeds` pre-fill the cache (words that are never merged). */
  constructor(private readonly ranks: ReadonlyMap<string, number>, seeds: Iterable<[string, string[]]>) {
    this.cache = new Map(seeds);
  }

  /** CLIP BPE on one byte-encoded word: repeatedly merge every occurrence of the lowest-ranked adjacent pair. */
  merge(token: string): string[] {
    const cached = this.cache.get(token);
    if (cached) return cached;
    let word = [...token];
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best: string | undefined;
      let bestRank = Infinity;
      for (let k = 0; k < word.length - 1; k++) {
        const rank = this.ranks.get(`${word[k]} ${word[k + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = `${word[k]} ${word[k + 1]}`;
        }
      }
      if (best === undefined) break;
      const [first, second] = best.split(' ') as [string, string];
      const merged: string[] = [];
      for (let k = 0; k < word.length; k++) {
        if (k < word.length - 1 && word[k] === first && word[k + 1] === second) {
          merged.push(first + second);
          k++;
        } else {
          merged.push(word[k]!);
        }
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }
}
