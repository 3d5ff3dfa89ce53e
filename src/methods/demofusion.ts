/**
 * DemoFusion (Du et al., CVPR 2024, §3): a native-size first pass, then progressive upscaling stages
 * (src/patch/upscale-stage.ts: skip residual, patch branch, dilated branch). Its patch windows are
 * re-jittered at every step (random offsets up to half a window, stride `options.stride` latent cells),
 * every window with the whole prompt.
 */
import { guidedConditions } from '../prompts/conditions.js';
import { getViews } from '../patch/views.js';
import type { PatchWindows } from '../patch/upscale-stage.js';
import { plainFirstPass } from './direct.js';
import type { GenerationMethod, StageRun } from './method.js';

/** DemoFusion's windows of a stage: drawn anew (jitter stream) at every step, one prompt. */
export function jitteredPatchWindows(run: StageRun): (step: number) => Promise<PatchWindows> {
  const { components, options: o, size } = run;
  const f = components.folder.vaeScaleFactor;
  return async () => {
    const set = getViews({ height: size.latentHeight, width: size.latentWidth, window: components.folder.nativeLatentSize, stride: o.stride, randint: run.random.jitter });
    const conditions = await guidedConditions(run.conditions, set.views.map(() => o.prompt), set.views.map((v) => [v.hStart * f, v.wStart * f]));
    return { views: set.views, padding: { height: set.jitterHeight, width: set.jitterWidth }, conditions };
  };
}

export const demofusion: GenerationMethod = {
  name: 'demofusion',
  summary: 'native pass, then progressive upscaling with skip residual, patch windows and a dilated global branch (Du et al. 2024)',
  progressive: true,
  windowed: true,
  firstPass: plainFirstPass,
  stagePatchWindows: jitteredPatchWindows,
};
