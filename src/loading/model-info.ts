/**
 * The library's model info (the CLI's `info` prints it, cli/info.ts): about a model folder, the family it looks like, native size, each
 * component's class, weight dtype and parameter count, and the size on disk. Parameter counts are the element
 * counts of the floating-point tensors in the safetensors headers (as `sum(p.numel() for p in model.parameters())`
 * counts them in PyTorch; integer buffers such as CLIP's position_ids are left out); no tensor data is read.
 * The family label is for display only: model code decides from config fields, never from it.
 */
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openComponentWeights, type ComponentWeights } from '../weights/component-weights.js';
import { openModelFolder, type ComponentName, type ModelFolder, type PipelineClass } from '../weights/diffusers-folder.js';

/** A display label: 'custom' when the configs match none of the published families. */
export type ModelFamily = 'sd1' | 'sd2' | 'sdxl' | 'custom';

export interface ComponentWeightsInfo {
  readonly dtype: ComponentWeights['dtype'];
  readonly parameterCount: number;
  /** The weight files used (as found in the folder; they may be symlinks). */
  readonly files: readonly string[];
  /** Their total size in bytes. */
  readonly bytes: number;
  /** The safetensors dtypes of the tensors in those files ("F32", "F16", …), sorted. */
  readonly tensorDtypes: readonly string[];
  /** Pickle weight files (.bin, .ckpt, …) beside them, never read (names in the component folder). */
  readonly pickleFiles: readonly string[];
}

export interface ComponentInfo {
  readonly name: ComponentName;
  readonly library: string;
  readonly className: string;
  readonly dir: string;
  /** Present for unet, vae and the text encoders. */
  readonly weights?: ComponentWeightsInfo;
}

export interface ModelInfo {
  readonly path: string;
  readonly pipelineClass: PipelineClass;
  readonly family: ModelFamily;
  readonly nativeSize: number;
  readonly nativeLatentSize: number;
  readonly vaeScaleFactor: number;
  readonly textEncoderCount: number;
  readonly hasTextTimeEmbedding: boolean;
  readonly forceZerosForEmptyPrompt: boolean;
  /** UNet `cross_attention_dim` when it is one number. */
  readonly crossAttentionDim?: number;
  readonly components: readonly ComponentInfo[];
  /** Sum of the components' parameter counts. */
  readonly parameterCount: number;
  /** Every file under the folder, each real file counted once (cache snapshots share blobs). */
  readonly diskBytes: number;
}

const PICKLE = /\.(bin|ckpt|pt|pth|pkl)$/;

const WEIGHTED: readonly ComponentName[] = ['unet', 'vae', 'text_encoder', 'text_encoder_2'];

/** Guesses the family from configs: SDXL by its two encoders / text_time UNet, SD1 and SD2 by the text width. */
export function guessFamily(folder: ModelFolder): ModelFamily {
  const crossDim = folder.unet.config['cross_attention_dim'];
  if (folder.textEncoderCount === 2 && folder.hasTextTimeEmbedding) return 'sdxl';
  if (folder.textEncoderCount === 1 && !folder.hasTextTimeEmbedding) {
    if (crossDim === 768) return 'sd1';
    if (crossDim === 1024) return 'sd2';
  }
  return 'custom';
}

/** Sums file sizes below dir, following symlinks, counting each real file once and skipping dot-entries (.git, .cache). */
function diskUsage(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      if (name.startsWith('.')) continue;
      const p = join(d, name);
      let real: string;
      try {
        real = realpathSync(p);
      } catch {
        continue; // a dangling symlink (an interrupted cache download) takes no space
      }
      if (seen.has(real)) continue;
      seen.add(real);
      const st = statSync(real);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) total += st.size;
    }
  };
  walk(dir);
  return total;
}

function describeWeights(dir: string, variant: string | undefined): ComponentWeightsInfo {
  const weights = openComponentWeights(dir, variant ? { variant } : {});
  let parameterCount = 0;
  for (const key of weights.keys()) {
    const ref = weights.get(key)!;
    parameterCount += ref.shape.reduce((a, b) => a * b, 1);
  }
  const files = weights.headers.map((h) => h.file);
  const bytes = weights.headers.reduce((a, h) => a + h.fileSize, 0);
  const tensorDtypes = [...new Set(weights.headers.flatMap((h) => [...h.tensors.values()].map((t) => t.dtype)))].sort();
  const pickleFiles = readdirSync(dir).filter((n) => PICKLE.test(n));
  return { dtype: weights.dtype, parameterCount, files, bytes, tensorDtypes, pickleFiles };
}

/** Describes a model folder (a path or an opened ModelFolder), reading only configs and safetensors headers. */
export function describeModel(folder: ModelFolder | string, options: { variant?: string } = {}): ModelInfo {
  const f = typeof folder === 'string' ? openModelFolder(folder) : folder;
  const components: ComponentInfo[] = f.components.map((c) => ({
    name: c.name,
    library: c.library,
    className: c.className,
    dir: c.dir,
    ...(WEIGHTED.includes(c.name) ? { weights: describeWeights(c.dir, options.variant) } : {}),
  }));
  const crossDim = f.unet.config['cross_attention_dim'];
  return {
    path: f.path,
    pipelineClass: f.pipelineClass,
    family: guessFamily(f),
    nativeSize: f.nativeSize,
    nativeLatentSize: f.nativeLatentSize,
    vaeScaleFactor: f.vaeScaleFactor,
    textEncoderCount: f.textEncoderCount,
    hasTextTimeEmbedding: f.hasTextTimeEmbedding,
    forceZerosForEmptyPrompt: f.forceZerosForEmptyPrompt,
    ...(typeof crossDim === 'number' ? { crossAttentionDim: crossDim } : {}),
    components,
    parameterCount: components.reduce((a, c) => a + (c.weights?.parameterCount ?? 0), 0),
    diskBytes: diskUsage(f.path),
  };
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i++;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}

/** The `info` command's text: one fact per line. */
export function formatModelInfo(info: ModelInfo): string[] {
  const count = (n: number) => n.toLocaleString('en-US');
  const lines = [
    `model:       ${info.path}`,
    `pipeline:    ${info.pipelineClass} (looks like: ${info.family})`,
    `native size: ${info.nativeSize}x${info.nativeSize} px (latent ${info.nativeLatentSize}x${info.nativeLatentSize}, VAE factor ${info.vaeScaleFactor})`,
    `text:        ${info.textEncoderCount} encoder${info.textEncoderCount === 1 ? '' : 's'}` +
      (info.crossAttentionDim !== undefined ? `, cross-attention width ${info.crossAttentionDim}` : '') +
      (info.hasTextTimeEmbedding ? ', text_time conditioning' : '') +
      (info.forceZerosForEmptyPrompt ? ', zero embeddings for an empty negative prompt' : ''),
    'components:',
  ];
  const classWidth = Math.max(...info.components.map((c) => c.className.length));
  for (const c of info.components) {
    const w = c.weights ? `  ${c.weights.dtype.padEnd(8)}  ${count(c.weights.parameterCount).padStart(13)} params  ${formatBytes(c.weights.bytes)}` : '';
    lines.push(`  ${c.name.padEnd(15)}${c.weights ? c.className.padEnd(classWidth) : c.className}${w}`);
  }
  lines.push(`parameters:  ${count(info.parameterCount)}`);
  lines.push(`on disk:     ${formatBytes(info.diskBytes)}`);
  return lines;
}
