/**
 * A1111's default emphasis ("Original", stable-diffusion-webui `modules/sd_emphasis.py` `EmphasisOriginal`),
 * applied to one text encoder's hidden states of one 77-token chunk of one prompt:
 *
 *   m₀ = mean(z)                       over all S·D values of the chunk (S = 77 positions, D = hidden size)
 *   z′[s, d] = z[s, d] · w[s]          w = the token's weight (BOS, EOS, padding: 1)
 *   z″ = z′ · (m₀ / mean(z′))          restore the original mean
 *
 * Sums are taken in float64 and the result stored in float32 (A1111 computes in the model's dtype). If every
 * weight is 1 the chunk is left untouched (bit for bit, as diffusers encodes it); if mean(z′) is 0 or not
 * finite (e.g. all-zero weights with a zero-mean chunk) the mean is not restored (A1111 would divide by zero).
 */

/** Applies the emphasis in place to `z` ([S, D] row-major, S = weights.length). */
export function applyEmphasis(z: Float32Array, weights: readonly number[], hiddenSize: number): void {
  const S = weights.length;
  if (z.length !== S * hiddenSize) throw new RangeError(`applyEmphasis: ${z.length} values, expected ${S}×${hiddenSize}`);
  if (weights.every((w) => w === 1)) return;
  let before = 0;
  let after = 0;
  for (let s = 0; s < S; s++) {
    const w = weights[s]!;
    let row = 0;
    for (let d = 0; d < hiddenSize; d++) row += z[s * hiddenSize + d]!;
    before += row;
    after += row * w;
  }
  const ratio = before / after; // = m₀ / mean(z′): the count S·D cancels
  const restore = after !== 0 && Number.isFinite(ratio) ? ratio : 1;
  for (let s = 0; s < S; s++) {
    const f = weights[s]! * restore;
    for (let d = 0; d < hiddenSize; d++) z[s * hiddenSize + d] = z[s * hiddenSize + d]! * f;
  }
}
