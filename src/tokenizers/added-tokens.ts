/**
 * Added tokens of a slow transformers tokenizer (special tokens and `added_tokens_decoder` entries):
 * split out of the text before BPE and never merged, following `tokenize()` in tokenization_utils.py
 * (its Trie's leftmost-longest split, then the lstrip/rstrip/single_word rules).
 */
import { PY_LSTRIP, PY_RSTRIP } from './clip-text.js';

/** An added token: split out of the text, never BPE-merged. */
export interface AddedToken {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
  singleWord: boolean;
}

/** Text pieces after splitting out added tokens; `added` marks the pieces that are added tokens. */
export interface Chunk {
  text: string;
  added: boolean;
}

/** The added tokens of one tokenizer, looked up by content. */
export class AddedTokens {
  private readonly byContent = new Map<string, AddedToken>();
  /** Longest first so the split is leftmost-longest like transformers' Trie. */
  private readonly byLength: AddedToken[];

  constructor(tokens: Iterable<AddedToken>) {
    for (const t of tokens) this.byContent.set(t.content, t);
    this.byLength = [...this.byContent.values()].sort((a, b) => b.content.length - a.content.length);
  }

  get(content: string): AddedToken | undefined {
    return this.byContent.get(content);
  }

  /**
   * transformers' tokenize(): leftmost-longest split on added tokens, then their lstrip/rstrip/single_word rules;
   * a piece is an added token iff its text equals one (as in the original's `token in no_split_token`).
   */
  split(text: string): Chunk[] {
    const parts: string[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.byLength.find((t) => text.startsWith(t.content, i));
      if (!hit || hit.content.length === 0) {
        i++;
        continue;
      }
      if (i > start) parts.push(text.slice(start, i));
      parts.push(hit.content);
      i += hit.content.length;
      start = i;
    }
    if (start < text.length) parts.push(text.slice(start));

    const isAdded = parts.map((p) => this.byContent.has(p));
    for (let k = 0; k < parts.length; k++) {
      if (!isAdded[k]) continue;
      const tok = this.byContent.get(parts[k]!)!;
      const left = k > 0 ? parts[k - 1]! : '';
      const right = k < parts.length - 1 ? parts[k + 1]! : '';
      if (tok.rstrip && right) parts[k + 1] = right.replace(PY_LSTRIP, '');
      if (tok.lstrip && left) parts[k - 1] = left.replace(PY_RSTRIP, '');
      if (tok.singleWord && left && !left.endsWith(' ')) {
        parts[k - 1] += parts[k];
        parts[k] = '';
      } else if (tok.singleWord && right && !right.startsWith(' ')) {
        parts[k] += right;
        parts[k + 1] = '';
      }
    }
    return parts.filter((p) => p.length > 0).map((p) => ({ text: p, added: this.byContent.has(p) }));
  }
}
