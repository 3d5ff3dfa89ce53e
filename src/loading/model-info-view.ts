/**
 * A model's description as users see it (the `info` command's `--json` object and its text): a diffusers
 * folder's ModelInfo (model-info.ts) reshaped, or a single file's (checkpoint-info.ts builds the same view).
 */
import { relative } from 'node:path';
import type { ModelFamily, ModelInfo } from './model-info.js';

export interface ComponentInfo {
  readonly name: string;
  readonly library: string | null;
  readonly className: string | null;
  /** Weight files read (relative to the component folder). */
  readonly files: readonly string[];
  readonly dtypes: readonly string[];
  readonly parameters: number;
  /** Pickle weight files present but never read. */
  readonly pickleFiles: readonly string[];
}

/** What `info` shows (the `--json` object). */
export interface InfoView {
  readonly path: string;
  readonly pipelineClass: string;
  readonly family: string;
  readonly nativeSize: number | null;
  readonly nativeLatentSize: number | null;
  readonly vaeScaleFactor: number | null;
  readonly components: readonly ComponentInfo[];
  readonly parameters: number;
  readonly devices: readonly string[];
}

const FAMILY: Record<Exclude<ModelFamily, 'custom'>, string> = { sd1: 'SD 1.x', sd2: 'SD 2.x', sdxl: 'SDXL' };

function familyLabel(info: ModelInfo): string {
  if (info.family !== 'custom') return FAMILY[info.family];
  return info.textEncoderCount === 2 ? 'SDXL' : `SD 1.x/2.x architecture (cross_attention_dim ${String(info.crossAttentionDim)})`;
}

/** The display of a model folder's library description; components by name, as model_index.json lists them. */
export function infoView(info: ModelInfo, devices: readonly string[]): InfoView {
  const components: ComponentInfo[] = [...info.components].sort((a, b) => (a.name < b.name ? -1 : 1)).map((c) => ({
    name: c.name,
    library: c.library,
    className: c.className,
    files: c.weights ? c.weights.files.map((f) => relative(c.dir, f)) : [],
    dtypes: c.weights ? c.weights.tensorDtypes : [],
    parameters: c.weights?.parameterCount ?? 0,
    pickleFiles: c.weights?.pickleFiles ?? [],
  }));
  return {
    path: info.path,
    pipelineClass: info.pipelineClass,
    family: familyLabel(info),
    nativeSize: info.nativeSize,
    nativeLatentSize: info.nativeLatentSize,
    vaeScaleFactor: info.vaeScaleFactor,
    components,
    parameters: info.parameterCount,
    devices,
  };
}
