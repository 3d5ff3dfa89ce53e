/**
 * Every file the CLI writes (issue 3 "Output", issue 4 atomic writes, issue 5 no partial files):
 * the final PNG with its A1111 "parameters" text chunk, --save-stages (stage images, one mask per
 * prompt token, patch-prompt maps), --report JSON and --save-latents safetensors. Each file goes to
 * `<name>.<pid>.tmp` first and is renamed into place, and an existing file is never replaced without
 * --force.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { OptionsError } from '../errors.js';
import type { GenerateResult, GenerationReport, RgbImage, StageResult, TokenMask } from '../pipeline/result.js';
import { writeSafetensors, type TensorToWrite } from '../weights/safetensors.js';
import { insertPngText } from './png-text.js';
import { bigintAsString } from '../tensor/seed.js';

export interface WriteOptions {
  /** Replace existing files. */
  readonly force: boolean;
}

function refuse(file: string): never {
  throw new OptionsError(`${file} already exists (use --force to overwrite)`);
}

/**
 * Writes `data` to `file` through `<file>.<pid>.tmp`. Without force the final step is a hard link, which
 * fails if the file appeared meanwhile, so a file created by someone else is never clobbered.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, options: WriteOptions): void {
  if (!options.force && existsSync(file)) refuse(file);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { flag: 'w' });
    if (options.force) {
      renameSync(tmp, file);
    } else {
      try {
        linkSync(tmp, file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') refuse(file);
        // Filesystems without hard links: fall back to check-then-rename.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e;
        if (existsSync(file)) refuse(file);
        renameSync(tmp, file);
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** PNG bytes of an RGB image, with optional text chunks (keyword → text). */
export async function encodePng(image: RgbImage, text: Readonly<Record<string, string>> = {}): Promise<Buffer> {
  checkImage(image);
  const png = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
  return Object.keys(text).length > 0 ? insertPngText(png, text) : png;
}

function checkImage(image: RgbImage): void {
  if (image.rgb.length !== image.width * image.height * 3) {
    throw new RangeError(`image ${image.width}x${image.height} has ${image.rgb.length} bytes, expected ${image.width * image.height * 3}`);
  }
}

/** A token as a file-name part: BPE end-of-word markers dropped, anything odd replaced. */
export function tokenFileName(token: string): string {
  const s = token.replace(/<\/w>/g, '').replace(/[^\p{L}\p{N}_-]+/gu, '_').replace(/^_+|_+$/g, '').slice(0, 40);
  return s === '' ? 'token' : s;
}

export function maskFileName(mask: TokenMask): string {
  return `mask-${mask.index}-${tokenFileName(mask.token)}.png`;
}

/** A token mask as a grey PNG, nearest-upscaled to width × height so single cells stay visible. */
export async function maskPng(mask: TokenMask, width: number, height: number): Promise<Buffer> {
  if (mask.mask.length !== mask.width * mask.height) throw new RangeError(`mask of "${mask.token}" has ${mask.mask.length} bytes for ${mask.width}x${mask.height}`);
  return sharp(mask.mask, { raw: { width: mask.width, height: mask.height, channels: 1 } })
    .resize(width, height, { kernel: 'nearest', fit: 'fill' })
    // sharp writes sRGB unless told otherwise; a mask stays one grey channel.
    .toColourspace('b-w')
    .png()
    .toBuffer();
}

function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Splits text into lines of at most `width` characters at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}

/**
 * The SVG overlay of a stage's patch windows: each window's rectangle and, at its centre (centres are
 * a stride apart, so labels of overlapping windows do not sit on each other), the words it kept.
 * Windows are in latent cells; `factor` converts them to pixels.
 */
export function patchPromptsSvg(width: number, height: number, windows: StageResult['windows'] & object, prompts: readonly string[], factor: number): string {
  const parts: string[] = [];
  const fontSize = windows.length > 0 ? Math.max(8, Math.round((windows[0]!.height * factor) / 14)) : 12;
  windows.forEach((w, i) => {
    const hue = Math.round((i * 137.508) % 360);
    const color = `hsl(${hue},90%,55%)`;
    const x = w.left * factor;
    const y = w.top * factor;
    const ww = w.width * factor;
    const hh = w.height * factor;
    parts.push(`<rect x="${x}" y="${y}" width="${ww}" height="${hh}" fill="none" stroke="${color}" stroke-width="${Math.max(1, Math.round(fontSize / 6))}"/>`);
    const lines = wrap(prompts[i] ?? '', Math.max(8, Math.floor(ww / (fontSize * 0.6)) - 2));
    const cx = x + ww / 2;
    const top = y + hh / 2 - ((lines.length - 1) * fontSize * 1.2) / 2;
    const tspans = lines.map((l, k) => `<tspan x="${cx}" y="${(top + k * fontSize * 1.2).toFixed(1)}">${xmlEscape(l)}</tspan>`).join('');
    parts.push(`<text text-anchor="middle" dominant-baseline="middle" font-family="sans-serif" font-size="${fontSize}" fill="${color}" stroke="black" stroke-width="${(fontSize / 8).toFixed(1)}" paint-order="stroke">${tspans}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/** A stage image with its windows and their prompts drawn over it, as PNG. */
export async function patchPromptsPng(stage: StageResult): Promise<Buffer> {
  const { image, windows, windowPrompts, latents } = stage;
  if (!image) throw new RangeError(`stage ${stage.stage} was not decoded (GenerateOptions.stageImages)`);
  checkImage(image);
  if (!windows) throw new RangeError(`stage ${stage.stage} has no windows`);
  const factor = image.width / latents.shape[3]!;
  const svg = patchPromptsSvg(image.width, image.height, windows, windowPrompts ?? [], factor);
  const composed = await sharp(image.rgb, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Composite of an SVG adds an alpha channel; the map stays RGB like the stage image.
  return sharp(composed.data, { raw: { width: composed.info.width, height: composed.info.height, channels: composed.info.channels } })
    .removeAlpha()
    .png()
    .toBuffer();
}

const STAGE_FILE = /^(stage-\d+|mask-\d+-.*|patch-prompts-stage-\d+)\.png$/;

/**
 * Before generating: refuses a --save-stages folder that already holds stage files unless force, so a
 * long run does not end in a refusal.
 */
export function checkStagesDir(dir: string, options: WriteOptions): void {
  if (options.force || !existsSync(dir)) return;
  const clash = readdirSync(dir).find((f) => STAGE_FILE.test(f));
  if (clash) throw new OptionsError(`--save-stages: ${join(dir, clash)} already exists (use --force to overwrite)`);
}

/** Writes stage-<k>.png, mask-<index>-<token>.png and patch-prompts-stage-<k>.png into dir; returns the paths. */
export async function writeStages(dir: string, result: GenerateResult, options: WriteOptions): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  const put = (name: string, data: Buffer) => {
    const file = join(dir, name);
    writeFileAtomic(file, data, options);
    written.push(file);
  };
  for (const s of result.stages) if (s.image) put(`stage-${s.stage}.png`, await encodePng(s.image));
  const first = result.stages[0]?.image ?? result.image;
  for (const m of result.masks) put(maskFileName(m), await maskPng(m, first.width, first.height));
  for (const s of result.stages) {
    if (s.image && s.windows && s.windows.length > 0) put(`patch-prompts-stage-${s.stage}.png`, await patchPromptsPng(s));
  }
  return written;
}

/** The --save-latents tensors: `latents` (final), `stage_<k>` for every stage, and `img2img_encoded`/`img2img_noisy` for upscale runs. */
export function latentTensors(result: GenerateResult): Record<string, TensorToWrite> {
  const tensors: Record<string, TensorToWrite> = {};
  const last = result.stages[result.stages.length - 1];
  if (!last) throw new RangeError('result has no stages');
  tensors.latents = { shape: last.latents.shape, data: last.latents.data };
  for (const s of result.stages) tensors[`stage_${s.stage}`] = { shape: s.latents.shape, data: s.latents.data };
  // img2img (upscale): diffusers' init_latents and the noised latents entering the first kept step
  if (result.img2img) {
    tensors.img2img_encoded = { shape: result.img2img.encodedLatents.shape, data: result.img2img.encodedLatents.data };
    tensors.img2img_noisy = { shape: result.img2img.noisyLatents.shape, data: result.img2img.noisyLatents.data };
  }
  return tensors;
}

export function writeLatents(file: string, result: GenerateResult, options: WriteOptions, metadata: Record<string, string> = {}): void {
  if (!options.force && existsSync(file)) refuse(file);
  writeSafetensors(file, latentTensors(result), metadata);
}

export function writeReport(file: string, report: GenerationReport, options: WriteOptions): void {
  writeFileAtomic(file, JSON.stringify(report, bigintAsString, 2) + '\n', options);
}

/** What to write after a generation. */
export interface OutputPlan extends WriteOptions {
  readonly out: string;
  /** The A1111 parameters text for the final PNG. */
  readonly parameters?: string;
  readonly saveStages?: string;
  readonly saveLatents?: string;
  readonly report?: string;
}

/** Writes every requested file; returns their paths, the final image first. */
export async function writeOutputs(result: GenerateResult, plan: OutputPlan): Promise<string[]> {
  // The final PNG goes last so that its presence means every other output is complete.
  // Refuse before writing anything, so a refusal never leaves half of the outputs behind.
  if (!plan.force) {
    for (const f of [plan.out, plan.report, plan.saveLatents]) if (f !== undefined && existsSync(f)) refuse(f);
    if (plan.saveStages !== undefined) checkStagesDir(plan.saveStages, plan);
  }
  const png = await encodePng(result.image, plan.parameters !== undefined ? { parameters: plan.parameters } : {});
  const written: string[] = [];
  if (plan.saveStages) written.push(...(await writeStages(plan.saveStages, result, plan)));
  if (plan.saveLatents) {
    writeLatents(plan.saveLatents, result, plan);
    written.push(plan.saveLatents);
  }
  if (plan.report) {
    writeReport(plan.report, result.report, plan);
    written.push(plan.report);
  }
  writeFileAtomic(plan.out, png, plan);
  return [plan.out, ...written];
}
