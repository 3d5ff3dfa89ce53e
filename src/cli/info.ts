/**
 * `accdiffusion info`: what a diffusers model folder holds (issue 4): family, native size, the
 * components of model_index.json with their classes, weight dtypes and parameter counts (from the
 * safetensors headers only, no tensor data is read), and the execution providers available here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { readSafetensorsHeader } from '../weights/safetensors.js';
import { parsePythonJson } from '../weights/python-json.js';

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

export interface ModelInfo {
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

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${file}: cannot be read`);
  }
  try {
    const v = parsePythonJson(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw new ConfigError(`${file}: not a JSON object`);
  }
}

function optionalJson(file: string): Record<string, unknown> | undefined {
  return existsSync(file) ? readJson(file) : undefined;
}

const PICKLE = /\.(bin|ckpt|pt|pth|pkl)$/;

/** The safetensors files diffusers would load for a component: plain, else sharded, else a variant. */
function weightFiles(dir: string): { files: string[]; pickles: string[] } {
  if (!existsSync(dir)) return { files: [], pickles: [] };
  const names = readdirSync(dir);
  const pickles = names.filter((n) => PICKLE.test(n));
  for (const base of ['diffusion_pytorch_model', 'model']) {
    if (names.includes(`${base}.safetensors`)) return { files: [`${base}.safetensors`], pickles };
    const index = `${base}.safetensors.index.json`;
    if (names.includes(index)) {
      const map = readJson(join(dir, index)).weight_map;
      if (typeof map !== 'object' || map === null) throw new ConfigError(`${join(dir, index)}: no weight_map`);
      return { files: [...new Set(Object.values(map as Record<string, string>))].sort(), pickles };
    }
  }
  return { files: names.filter((n) => n.endsWith('.safetensors')).sort(), pickles };
}

function family(index: Record<string, unknown>, unet: Record<string, unknown> | undefined): string {
  const cls = String(index._class_name ?? '');
  if (cls.includes('XL') || 'text_encoder_2' in index) return 'SDXL';
  const cross = unet?.cross_attention_dim;
  if (cross === 768) return 'SD 1.x';
  if (cross === 1024) return 'SD 2.x';
  return `SD 1.x/2.x architecture (cross_attention_dim ${String(cross)})`;
}

/** Describes the model folder; `devices` are the execution providers to list. */
export function describeModel(folder: string, devices: readonly string[]): ModelInfo {
  const index = readJson(join(folder, 'model_index.json'));
  const components: ComponentInfo[] = [];
  for (const [name, v] of Object.entries(index)) {
    if (name.startsWith('_') || !Array.isArray(v) || v.length !== 2 || v[1] === null) continue;
    const dir = join(folder, name);
    const { files, pickles } = weightFiles(dir);
    const dtypes = new Set<string>();
    let parameters = 0;
    for (const f of files) {
      const header = readSafetensorsHeader(join(dir, f));
      for (const t of header.tensors.values()) {
        dtypes.add(t.dtype);
        parameters += t.shape.reduce((a, b) => a * b, 1);
      }
    }
    components.push({ name, library: v[0] as string | null, className: v[1] as string, files, dtypes: [...dtypes].sort(), parameters, pickleFiles: pickles });
  }
  const unet = optionalJson(join(folder, 'unet', 'config.json'));
  const vae = optionalJson(join(folder, 'vae', 'config.json'));
  const blocks = vae?.block_out_channels;
  const vaeScaleFactor = Array.isArray(blocks) ? 2 ** (blocks.length - 1) : null;
  const sample = unet?.sample_size;
  const nativeLatentSize = typeof sample === 'number' ? sample : null;
  return {
    path: folder,
    pipelineClass: String(index._class_name ?? 'unknown'),
    family: family(index, unet),
    nativeSize: nativeLatentSize !== null && vaeScaleFactor !== null ? nativeLatentSize * vaeScaleFactor : null,
    nativeLatentSize,
    vaeScaleFactor,
    components,
    parameters: components.reduce((a, c) => a + c.parameters, 0),
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
export function formatModelInfo(info: ModelInfo): string {
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
