/**
 * Which UNet convs ScaleCrafter re-dilates, by how much, and for how many steps (He et al., ICLR 2024,
 * "ScaleCrafter: Tuning-free Higher-Resolution Visual Generation with Diffusion Models", §3.2 re-dilation,
 * §3.3 noise-damped classifier-free guidance). The presets restate, as per-level rules, the public
 * settings of the authors' repository (YingqingHe/ScaleCrafter: configs/<model>_<size>.yaml for the step
 * counts dilate_tau / ndcfg_tau out of 50 and `progressive`; assets/dilate_settings and
 * assets/ndcfg_dilate_settings for the layer lists). Layers are resolved against the loaded UNet, so a
 * listed layer the model lacks (the SDXL lists name SD's fourth level) is skipped. Models are recognised
 * by their UNet config values, and anything else gets the fallback rule below.
 *
 * Deviations, said where they apply: SD 2.1 at 2x and SDXL at 2x have public step counts but their layer
 * lists are not in the repository snapshot we read, so they use the SD 1.5 2x pattern (the deepest level,
 * the mid block and the first up block); SD 1.5 at 4x uses the repository's published
 * "sd1.5_2048x2048_test" ND-CFG list, the one its config names is not public. Only integer dilations
 * (every preset is integer; the fallback rounds up).
 *
 * Fallback (any other model, size or aspect), with D = ⌈scale⌉ and j = how many levels a UNet level sits
 * above the deepest one (the mid block counts as j = 0):
 * - Main model: the ladder D − j (SDXL 4x: 4, 3, 2; every 2x list: 2 on the deepest level only), on each
 *   level's down resnets + downsampler and up resnets + upsampler; levels where D − j < 2 are left alone.
 * - ND-CFG (§3.3) only above 2x, as in every published 4x config and no 2x one. Its unconditional
 *   ("damped") model dilates the deepest level and the mid block only, the common core of the published
 *   ND-CFG lists, so it is never more dilated than the main model at any conv: the point of ND-CFG is
 *   ε_u^damped + w·(ε_c^dilated − ε_u^dilated), the unconditional term from the model that still denoises
 *   (the shallow, high-resolution levels undilated) and the guidance direction from the re-dilated one.
 * - Steps: 30 of 50 up to 2x (SD 1.5 / SDXL 2x, no ramp); above 2x 35 of 50 with the ramp for both the
 *   dilation and ND-CFG (SD 1.5 / SDXL 4x; every published config has ndcfg_tau = dilate_tau: past
 *   dilate_tau the "damped" model would be more dilated than the guided one).
 * The ramp lowers listed dilations to no less than 2 while dilated; a conv a list leaves out stays at 1
 * (dilationAt), or the damped model would get every other conv of the main list at 2, level 0 included,
 * and denoise no better than the main one: at 4x on models/shapes-xl that gave pure noise.
 */
import { redilatableConvs, type UNet2DConditionModel } from '../models/unet-2d-condition.js';

/** Per-level dilations: level numbers as in the module paths (down_blocks.i, up_blocks.i). */
export interface LevelRule {
  /** down_blocks.i resnets and (unless `downsampler` says otherwise) its downsampler. */
  readonly down?: Readonly<Record<number, number>>;
  readonly downsampler?: Readonly<Record<number, number>>;
  /** mid_block resnets. */
  readonly mid?: number;
  /** up_blocks.i resnets and upsampler. */
  readonly up?: Readonly<Record<number, number>>;
}

interface Preset {
  readonly name: string;
  readonly dilate: LevelRule;
  /** Steps out of 50 during which the prediction is re-dilated (dilate_tau). */
  readonly tau: number;
  /** ND-CFG's unconditional model and its steps out of 50 (ndcfg_tau); absent: plain CFG. */
  readonly ndcfg?: { readonly dilate: LevelRule; readonly tau: number };
  /** Dilation ramps down to 2 over the dilated steps. */
  readonly progressive: boolean;
}

const SD15_2X: LevelRule = { down: { 3: 2 }, mid: 2, up: { 0: 2 } };

/** Presets by model kind and (square) scale. */
const PRESETS: Readonly<Record<string, Readonly<Record<number, Preset>>>> = {
  'sd1': {
    2: { name: 'sd1.5_1024x1024', dilate: SD15_2X, tau: 30, progressive: false },
    4: {
      name: 'sd1.5_2048x2048',
      dilate: { down: { 0: 2, 1: 3, 2: 4, 3: 4 }, mid: 4, up: { 0: 4, 1: 4, 2: 3, 3: 2 } },
      tau: 35,
      ndcfg: { dilate: { down: { 2: 4, 3: 4 }, mid: 4, up: { 0: 4, 1: 4 } }, tau: 35 },
      progressive: true,
    },
  },
  'sd2': {
    2: { name: 'sd2.1_1024x1024', dilate: SD15_2X, tau: 20, progressive: false },
    4: {
      name: 'sd2.1_2048x2048',
      dilate: { down: { 2: 3, 3: 4 }, downsampler: { 2: 4 }, mid: 4, up: { 0: 4, 1: 4, 2: 3, 3: 2 } },
      tau: 37,
      ndcfg: { dilate: { down: { 2: 3, 3: 4 }, downsampler: { 2: 4 }, mid: 4, up: { 0: 4, 1: 4, 2: 3 } }, tau: 37 },
      progressive: true,
    },
  },
  'sdxl': {
    2: { name: 'sdxl_2048x2048', dilate: { down: { 2: 2 }, mid: 2, up: { 0: 2 } }, tau: 30, progressive: false },
    4: {
      name: 'sdxl_4096x4096',
      dilate: { down: { 2: 4 }, mid: 4, up: { 0: 4, 1: 3, 2: 2 } },
      tau: 35,
      ndcfg: { dilate: { mid: 4, up: { 0: 4 } }, tau: 35 },
      progressive: true,
    },
  },
};

/** A resolved plan for one generation. */
export interface ReDilationPlan {
  /** Preset name, "fallback", or "none" (nothing dilated: the target is not larger than native). */
  readonly source: string;
  /** Conv path → dilation of the guided prediction. */
  readonly dilations: ReadonlyMap<string, number>;
  /** Steps (from the first) during which it is re-dilated. */
  readonly dilateSteps: number;
  /** Conv path → dilation of ND-CFG's unconditional prediction; empty map = the plain UNet. */
  readonly ndcfgDilations: ReadonlyMap<string, number>;
  /**
   * Steps using noise-damped CFG (0: plain CFG throughout). The run uses ND-CFG only while the main
   * prediction is dilated and never lets the damped model out-dilate it (scalecrafter.ts).
   */
  readonly ndcfgSteps: number;
  readonly progressive: boolean;
}

/** The model kind a preset is for, from UNet config values (null: no preset). */
function modelKind(model: UNet2DConditionModel): string | null {
  const c = model.config;
  const levels = c.block_out_channels.length;
  const cross = c.cross_attention_dim[0];
  if (c.addition_embed_type === 'text_time') return levels === 3 && cross === 2048 ? 'sdxl' : null;
  if (levels !== 4) return null;
  return cross === 768 ? 'sd1' : cross === 1024 ? 'sd2' : null;
}

/** Conv path → dilation for a level rule (only convs the model has; dilation 1 entries dropped). */
export function resolveLevelRule(model: UNet2DConditionModel, rule: LevelRule): Map<string, number> {
  const out = new Map<string, number>();
  for (const path of redilatableConvs(model).keys()) {
    const parts = path.split('.');
    let d: number | undefined;
    if (parts[0] === 'down_blocks') {
      const i = Number(parts[1]);
      d = parts[2] === 'downsamplers' ? rule.downsampler?.[i] ?? rule.down?.[i] : parts[2] === 'resnets' ? rule.down?.[i] : undefined;
    } else if (parts[0] === 'mid_block') {
      d = parts[1] === 'resnets' ? rule.mid : undefined;
    } else if (parts[0] === 'up_blocks') {
      d = parts[2] === 'resnets' || parts[2] === 'upsamplers' ? rule.up?.[Number(parts[1])] : undefined;
    }
    if (d !== undefined && d > 1) out.set(path, d);
  }
  return out;
}

/** The fallback's level rule (file header): D − j on level j above the deepest; `deepestOnly`: j = 0 only. */
function fallbackRule(levels: number, D: number, deepestOnly: boolean): LevelRule {
  const down: Record<number, number> = {};
  const up: Record<number, number> = {};
  for (let j = 0; j < (deepestOnly ? 1 : levels); j++) {
    const d = D - j;
    if (d < 2) continue;
    down[levels - 1 - j] = d;
    up[j] = d;
  }
  return { down, up, mid: D };
}

/**
 * The plan for a target of latentHeight × latentWidth on a UNet whose native latent is `nativeLatent`,
 * for `steps` steps. Preset step counts (out of 50) are scaled to `steps`, rounding to nearest.
 */
export function reDilationPlan(model: UNet2DConditionModel, latentHeight: number, latentWidth: number, nativeLatent: number, steps: number): ReDilationPlan {
  const rh = latentHeight / nativeLatent;
  const rw = latentWidth / nativeLatent;
  const scale = Math.max(rh, rw);
  const toSteps = (tau: number): number => Math.min(steps, Math.round((tau / 50) * steps));
  if (scale <= 1) return { source: 'none', dilations: new Map(), dilateSteps: 0, ndcfgDilations: new Map(), ndcfgSteps: 0, progressive: false };
  const kind = modelKind(model);
  const preset = kind && rh === rw ? PRESETS[kind]?.[rh] : undefined;
  if (preset) {
    return {
      source: preset.name,
      dilations: resolveLevelRule(model, preset.dilate),
      dilateSteps: toSteps(preset.tau),
      ndcfgDilations: preset.ndcfg ? resolveLevelRule(model, preset.ndcfg.dilate) : new Map(),
      ndcfgSteps: preset.ndcfg ? toSteps(preset.ndcfg.tau) : 0,
      progressive: preset.progressive,
    };
  }
  const D = Math.ceil(scale);
  const levels = model.config.block_out_channels.length;
  const big = D > 2;
  const tau = toSteps(big ? 35 : 30);
  return {
    source: 'fallback',
    dilations: resolveLevelRule(model, fallbackRule(levels, D, false)),
    dilateSteps: tau,
    ndcfgDilations: big ? resolveLevelRule(model, fallbackRule(levels, D, true)) : new Map(),
    ndcfgSteps: big ? tau : 0,
    progressive: big,
  };
}

/**
 * Dilation of one conv at step i of a schedule dilated for `tau` steps: its full value d, or with
 * `progressive` ⌈d·(tau − i)/tau⌉ but at least 2 (the reference's ramp); 1 from step tau on. A conv the
 * settings do not list (d = 1) stays 1: the reference's floor of 2 only applies to listed convs.
 */
export function dilationAt(d: number, i: number, tau: number, progressive: boolean): number {
  if (i >= tau || d <= 1) return 1;
  return progressive ? Math.max(Math.ceil((d * (tau - i)) / tau), 2) : d;
}
