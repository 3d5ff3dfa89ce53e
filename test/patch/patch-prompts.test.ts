// Patch-content-aware prompts: parity with the original AccDiffusion run on tiny-sdxl (md_prompts per
// scale from the recorded attention map and views), plus the mask/ratio invariants of spec §13.3–13.6.
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { tinySdxl } from '../helpers/paths.js';
import { CLIPTokenizer } from '../../src/tokenizers/clip-tokenizer.js';
import { patchPrompts, pieceText, thresholdMask } from '../../src/patch/patch-prompts.js';
import { getViews, mdViews, viewFromTuple, viewTuple, type MdViewPlan, type View } from '../../src/patch/views.js';
import { opening } from '../../src/tensor/ops.js';

const RUNS = ['accdiffusion_corgi', 'accdiffusion_astronaut_noshuffle', 'accdiffusion_corgi_1024_unmodified'];

interface RunJson {
  prompt: string;
  call: { c: number; width: number; height: number };
  md_prompts: Record<string, string[]>;
  md_views_attention_coords: Record<string, number[][]>;
  md_views_latent_coords: Record<string, number[][]>;
}

/**
 * Piece texts (BOS/EOS excluded) of a prompt with the tiny-sdxl tokenizer 1, as the pipeline gets them
 * (encode, then single-token decode); cross-checked against the recorded transformers tokens.
 */
function piecesOf(prompt: string): string[] {
  const tok = CLIPTokenizer.fromFolder(join(tinySdxl, 'tokenizer'));
  const pieces = tok.encode(prompt).slice(1, -1).map((id) => tok.decodePiece(id));
  const toks = oracleJson<{ tokenizer: { prompt: string; tokens: string[] }[] }>('tiny-sdxl/tokens').tokenizer;
  const entry = toks.find((e) => e.prompt === prompt);
  if (!entry) throw new Error(`no tokens for ${prompt}`);
  assert.deepEqual(pieces, entry.tokens.slice(1, -1).map(pieceText));
  return pieces;
}

/**
 * A randint that replays the jitters implied by recorded views, asserting that each call asks for the
 * bounds the reference rule gives for that view/axis, in the documented order (per view: width, then height).
 */
function replayFromRecorded(recorded: View[], plain: View[], jr: number, gh: number, gw: number) {
  const queue: { value: number; low: number; high: number }[] = [];
  const bounds = (s: number, e: number, n: number): [number, number] | null =>
    s !== 0 && e !== n ? [-jr, jr] : s === 0 && e !== n ? [-jr, 0] : s !== 0 && e === n ? [0, jr] : null;
  recorded.forEach((r, i) => {
    const p = plain[i]!;
    const bw = bounds(p.wStart, p.wEnd, gw);
    const bh = bounds(p.hStart, p.hEnd, gh);
    const wj = r.wStart - p.wStart - jr;
    const hj = r.hStart - p.hStart - jr;
    if (bw) queue.push({ value: wj, low: bw[0], high: bw[1] });
    else assert.equal(wj, 0);
    if (bh) queue.push({ value: hj, low: bh[0], high: bh[1] });
    else assert.equal(hj, 0);
  });
  const randint = (low: number, high: number): number => {
    const next = queue.shift();
    assert.ok(next, 'more randint calls than recorded jitters');
    assert.deepEqual([low, high], [next.low, next.high]);
    assert.ok(next.value >= low && next.value <= high, `jitter ${next.value} outside [${low}, ${high}]`);
    return next.value;
  };
  return { randint, remaining: () => queue.length };
}

for (const run of RUNS) {
  test(`md views and md_prompts reproduce the reference run ${run}`, () => {
    const j = oracleJson<RunJson>(`accdiffusion/${run}`);
    const att = oracleF32(`accdiffusion/${run}`, 'md.aggregated_cross_attention.0');
    assert.deepEqual(att.shape, [8, 8, 77]);
    const pieces = piecesOf(j.prompt);
    const base = 32; // tiny-sdxl unet sample_size
    const stages: { scale: number; plan: MdViewPlan }[] = [];
    for (const key of Object.keys(j.md_prompts)) {
      const s = Number(key);
      const recorded = j.md_views_attention_coords[key]!.map(viewFromTuple);
      const plain = getViews({ height: 8 * s, width: 8 * s, window: 8, stride: 4 }).views;
      const replay = replayFromRecorded(recorded, plain, 1, 8 * s, 8 * s);
      const plan = mdViews({ latentHeight: base * s, latentWidth: base * s, baseLatent: base, randint: replay.randint });
      assert.equal(replay.remaining(), 0, 'every recorded jitter consumed');
      assert.equal(plan.views.length, (2 * s - 1) ** 2);
      assert.deepEqual(plan.views.map(viewTuple), j.md_views_attention_coords[key]);
      assert.deepEqual(plan.latentViews.map(viewTuple), j.md_views_latent_coords[key]);
      assert.equal(plan.latentJitter, 4);
      stages.push({ scale: s, plan });
    }
    for (const compat of [false, true]) {
      const res = patchPrompts({
        attention: att.data, attentionHeight: 8, attentionWidth: 8, pieces, c: j.call.c, stages, referenceCompat: compat,
      });
      for (const st of res.stages) assert.deepEqual(st.prompts, j.md_prompts[String(st.scale)], `scale ${st.scale} compat=${compat}`);
    }
  });
}

test('aggregated attention rows sum to 1 over the 77 keys (§13.2)', () => {
  const att = oracleF32('accdiffusion/accdiffusion_corgi', 'md.aggregated_cross_attention.0');
  for (let q = 0; q < 64; q++) {
    let s = 0;
    for (let k = 0; k < 77; k++) s += att.data[q * 77 + k]!;
    assert.ok(Math.abs(s - 1) < 1e-3, `row ${q} sums to ${s}`);
  }
});

test('threshold is strict: constant map gives an all-off mask; opening keeps all-on/off (§13.3)', () => {
  assert.ok(thresholdMask(new Float32Array(64).fill(0.25)).every((v) => v === 0));
  const on = new Uint8Array(32 * 32).fill(1);
  assert.deepEqual(opening(on, 32, 32, 2), on);
  const off = new Uint8Array(32 * 32);
  assert.deepEqual(opening(off, 32, 32, 2), off);
});

/** Synthetic 32×32 attention for 3 pieces: blobs at different places, so prompts vary per view. */
function syntheticAttention(h: number, w: number): Float32Array {
  const keys = 77;
  const a = new Float32Array(h * w * keys);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const q = y * w + x;
      a[q * keys + 1] = y < h / 2 ? 0.5 : 0.1; // top half
      a[q * keys + 2] = x >= w / 2 ? 0.4 : 0.1; // right half
      a[q * keys + 3] = Math.abs(y - h / 2) < 4 && Math.abs(x - w / 2) < 4 ? 0.9 : 0.05; // centre blob 8×8
      a[q * keys + 0] = 1 - a[q * keys + 1]! - a[q * keys + 2]! - a[q * keys + 3]!;
    }
  }
  return a;
}

test('c = 0 keeps every piece, c > 1 keeps none; prompts are ordered subsequences; #prompts = #views (§13.5, §13.6)', () => {
  const att = syntheticAttention(32, 32);
  const pieces = ['sky', 'tree', 'dog'];
  let n = 0;
  const randint = (lo: number, hi: number): number => (n++ % 2 === 0 ? lo : hi);
  const stages = [2, 3, 4].map((s) => ({ scale: s, plan: mdViews({ latentHeight: 128 * s, latentWidth: 128 * s, baseLatent: 128, randint }) }));
  const all = patchPrompts({ attention: att, attentionHeight: 32, attentionWidth: 32, pieces, c: 0, stages });
  const none = patchPrompts({ attention: att, attentionHeight: 32, attentionWidth: 32, pieces, c: 1.01, stages });
  const mid = patchPrompts({ attention: att, attentionHeight: 32, attentionWidth: 32, pieces, c: 0.3, stages });
  for (const [i, s] of [2, 3, 4].entries()) {
    assert.equal(all.stages[i]!.prompts.length, (2 * s - 1) ** 2);
    assert.ok(all.stages[i]!.prompts.every((p) => p === 'sky tree dog'));
    assert.ok(none.stages[i]!.prompts.every((p) => p === ''));
    for (const [v, p] of mid.stages[i]!.prompts.entries()) {
      const words = p === '' ? [] : p.split(' ');
      let k = 0;
      for (const wd of words) {
        while (k < pieces.length && pieces[k] !== wd) k++;
        assert.ok(k < pieces.length, `"${p}" is not an ordered subsequence`);
        k++;
      }
      for (const r of mid.stages[i]!.ratios[v]!) assert.ok(r >= 0 && r <= 1);
    }
  }
  // The content varies: the top-left view sees the sky but not the right half.
  assert.ok(new Set(mid.stages[2]!.prompts).size > 1);
});

test('opening removes a thin line but keeps a 5×5 block; k = rows/16 (§3.2)', () => {
  const h = 32, w = 32;
  const att = new Float32Array(h * w * 77);
  for (let q = 0; q < h * w; q++) att[q * 77 + 1] = 0.01;
  for (let x = 0; x < w; x++) att[(3 * w + x) * 77 + 1] = 1; // one-pixel horizontal line
  for (let y = 20; y < 25; y++) for (let x = 10; x < 15; x++) att[(y * w + x) * 77 + 1] = 1; // 5×5 block
  const plan = mdViews({ latentHeight: 256, latentWidth: 256, baseLatent: 128 });
  const res = patchPrompts({ attention: att, attentionHeight: h, attentionWidth: w, pieces: ['x'], c: 0, stages: [{ scale: 2, plan }] });
  const m = res.masks[0]!.mask;
  let on = 0;
  for (let i = 0; i < m.length; i++) on += m[i]!;
  assert.equal(on, 25);
  for (let x = 0; x < w; x++) assert.equal(m[3 * w + x], 0);
  assert.equal(m[22 * w + 12], 1);
});

test('upsampled padded mask: on-count scales by s² and fractions use the window area (§13.4)', () => {
  const att = syntheticAttention(32, 32);
  // Unjittered views (no randint) cover the stage exactly; a single whole-grid check: the view
  // [0,64)×[0,64) at s=2 with jitter 0 sees the whole upsampled mask.
  const plan: MdViewPlan = { cell: 4, gridHeight: 64, gridWidth: 64, window: 64, jitter: 4, latentJitter: 16,
    views: [{ hStart: 4, hEnd: 68, wStart: 4, wEnd: 68 }], latentViews: [] };
  const res = patchPrompts({ attention: att, attentionHeight: 32, attentionWidth: 32, pieces: ['a', 'b', 'c'], c: 0.3, stages: [{ scale: 2, plan }] });
  for (const [j, mk] of res.masks.entries()) {
    let on = 0;
    for (let i = 0; i < mk.mask.length; i++) on += mk.mask[i]!;
    assert.equal(res.stages[0]!.ratios[0]![j], (on * 4) / (64 * 64));
  }
});

test('non-square phase 1 (fixed B2): row-major map, per-view area, views inside the padded grid', () => {
  // 24 rows × 32 cols (e.g. 1024×768 landscape SDXL); piece 1 lights the bottom quarter only.
  const h = 24, w = 32;
  const att = new Float32Array(h * w * 77);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) att[(y * w + x) * 77 + 1] = y >= 18 ? 1 : 0;
  const plan = mdViews({ latentHeight: 192, latentWidth: 256, baseLatent: 128 });
  assert.equal(plan.views.length, 2 * 3);
  const res = patchPrompts({ attention: att, attentionHeight: h, attentionWidth: w, pieces: ['ground'], c: 0.3, stages: [{ scale: 2, plan }] });
  // Top row of views (rows 0..32 of 48) sees none of the bottom quarter; bottom row (16..48) sees 12/32.
  assert.deepEqual(res.stages[0]!.prompts, ['', '', '', 'ground', 'ground', 'ground']);
  assert.ok(Math.abs(res.stages[0]!.ratios[3]![0]! - 12 / 32) < 1e-12);
});
