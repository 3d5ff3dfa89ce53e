/**
 * JSON as Python's `json` module reads and writes it. diffusers, transformers and huggingface_hub save
 * configs with `json.dumps(..., allow_nan=True)` (the default), which writes the non-standard tokens `NaN`,
 * `Infinity` and `-Infinity` for float fields (DPMSolverMultistepScheduler's `lambda_min_clipped` is
 * `-Infinity` in many shipped scheduler_config.json files), and `json.loads` reads them back. JSON.parse
 * refuses them, so this parser turns them into numbers first; everything else follows JSON.parse, which
 * agrees with Python on the rest (duplicate keys: the last wins; big integers; escaped surrogates). Like
 * Python reading a file opened as UTF-8, a leading byte-order mark is refused.
 *
 * Written by hand: the substitution is a few lines, and no JSON5-style package accepts exactly Python's set
 * (JSON5 also accepts comments, trailing commas and single quotes, which Python refuses).
 */

const PLACEHOLDER = '\u0000python-json:';
const VALUES: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };

/** JSON.parse, plus Python's NaN / Infinity / -Infinity literals outside strings. Throws SyntaxError like JSON.parse. */
export function parsePythonJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!/NaN|Infinity/.test(text)) throw e;
  }
  let out = '';
  let i = 0;
  let found = false;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      // copy a string literal unchanged, escapes included
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const m = /^(-?Infinity|NaN)(?![A-Za-z0-9_])/.exec(text.slice(i, i + 10));
    if (m) {
      out += JSON.stringify(PLACEHOLDER + m[1]!);
      i += m[1]!.length;
      found = true;
      continue;
    }
    out += ch;
    i++;
  }
  if (!found) return JSON.parse(text);
  return JSON.parse(out, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(PLACEHOLDER) ? VALUES[value.slice(PLACEHOLDER.length)] : value,
  );
}
