/**
 * `accdiffusion info`: prints the library's model info (loading/model-info.ts describeModel for a folder,
 * loading/checkpoint-info.ts for a single file) with the execution providers available here, as text or JSON.
 * Nothing is read here: this file only reshapes the library's description for display.
 */
import { basename, relative } from 'node:path';
import type { ModelFamily, ModelInfo } from '../loading/model-info.js';

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

/** 1234567 → "1.23 M". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} K`;
  return String(n);
}

/** The human-readable text of `info`. */
export function formatInfoView(info: InfoView): string {
  const lines = [
    `model:       ${basename(info.path)} (${info.path})`,
    `pipeline:    ${info.pipelineClass}`,
    `family:      ${info.family}`,
    `native size: ${info.nativeSize ?? '?'} px (latent ${info.nativeLatentSize ?? '?'}, VAE factor ${info.vaeScaleFactor ?? '?'})`,
    `parameters:  ${formatCount(info.parameters)}`,
    'components:',
  ];
  const width = Math.max(...info.components.map((c) => c.name.length));
  for (const c of info.components) {
    const weights = c.files.length > 0 ? `${formatCount(c.parameters).padStart(9)} params, ${c.dtypes.join('/')}` : 'no weights';
    const pickle = c.pickleFiles.length > 0 ? ` (pickle files ignored: ${c.pickleFiles.join(', ')})` : '';
    lines.push(`  ${c.name.padEnd(width)}  ${(c.className ?? '').padEnd(28)} ${weights}${pickle}`);
  }
  lines.push(`devices:     ${info.devices.join(', ')}`);
  return lines.join('\n');
}
