/**
 * LoRA files (`--lora FILE[:SCALE]`, repeatable): kohya/A1111 names (`lora_unet_…`, `lora_te_…`, `lora_te1_/lora_te2_`,
 * SGM block names for SDXL UNets, `.alpha`) and diffusers names (`unet.<module>.lora.down/up.weight`,
 * `text_encoder(_2).<module>.lora_linear_layer.down/up.weight`, PEFT `lora_A/lora_B`; no alpha means alpha = rank).
 * For each targeted Linear, W' = W + scale·(alpha/rank)·up·down (test/fixtures/MODEL-FILES-README.md §10.2; several LoRAs are summed).
 *
 * Applied in the graph, not merged: each Linear gets y += (x·downᵀ)·(c·up)ᵀ (nn.ts Linear.lowRank), several LoRAs
 * concatenated along the rank. Merging would need a float copy of every targeted weight (SDXL: the attention
 * projections, about 40% of the UNet) next to the mapped originals; the low-rank form costs only the LoRA's size.
 * kohya names are matched against names built from the model's own module paths (diffusers paths and, for the
 * UNet, the LDM/SGM paths of ldm-key-map.ts), never by guessing where underscores were dots.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { OptionsError, WeightsError } from '../errors.js';
import { Module } from '../graph/module.js';
import { Linear } from '../graph/nn.js';
import { loadSafetensors, readSafetensorsHeader, type LoadedTensor } from '../weights/safetensors.js';
import { ldmUNetKey, type UNetLayout } from './ldm-key-map.js';

/** One `--lora` argument. */
export interface LoraSpec {
  readonly file: string;
  /** Multiplier of the LoRA's term (A1111's `<lora:name:scale>`), default 1. */
  readonly scale: number;
}

/** What applying one LoRA did. */
export interface AppliedLora {
  readonly name: string;
  readonly file: string;
  readonly scale: number;
  /** A1111's short hash: the first 12 hex digits of sha256 over the file's data after the header. */
  readonly hash: string;
  readonly matchedModules: number;
  readonly unmatchedKeys: number;
}

/** Parses `FILE[:SCALE]` (the scale is the part after the last ':' when it is a number). */
export function parseLoraArgument(arg: string): LoraSpec {
  const i = arg.lastIndexOf(':');
  if (i > 0) {
    const tail = arg.slice(i + 1);
    if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(tail)) return { file: arg.slice(0, i), scale: Number(tail) };
  }
  return { file: arg, scale: 1 };
}

/** Every Linear below `root` with its dotted module path. */
export function* namedLinears(root: Module, prefix = ''): Generator<[string, Linear]> {
  for (const [name, v] of Object.entries(root)) {
    if (!(v instanceof Module)) continue;
    const path = prefix ? `${prefix}.${name}` : name;
    if (v instanceof Linear) yield [path, v];
    else yield* namedLinears(v, path);
  }
}

const KOHYA = /^(lora_unet|lora_te1|lora_te2|lora_te)_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
const DIFFUSERS = /^(unet|text_encoder|text_encoder_2)\.(.+)\.(lora\.down\.weight|lora\.up\.weight|lora_linear_layer\.down\.weight|lora_linear_layer\.up\.weight|lora_A\.weight|lora_B\.weight|alpha)$/;
const KOHYA_COMPONENT: Record<string, string> = { lora_unet: 'unet', lora_te: 'text_encoder', lora_te1: 'text_encoder', lora_te2: 'text_encoder_2' };

/** Groups a LoRA file's tensors by (component, module name as written); keys of no known form are returned apart. */
function readLoraFile(file: string): { pairs: Map<string, LoraEntry>; unknown: string[] } {
  const tensors = loadSafetensors(file);
  const pairs = new Map<string, LoraEntry>();
  const unknown: string[] = [];
  for (const [key, t] of tensors) {
    let component: string; let name: string; let part: string;
    let m = KOHYA.exec(key);
    if (m) {
      component = KOHYA_COMPONENT[m[1]!]!; name = m[2]!; part = m[3]!;
    } else if ((m = DIFFUSERS.exec(key))) {
      component = m[1]!; name = m[2]!; part = m[3]!;
    } else {
      unknown.push(key);
      continue;
    }
    const id = `${component}/${name}`;
    const entry = pairs.get(id) ?? { component, name, parts: {} };
    pairs.set(id, entry);
    if (part === 'alpha') entry.parts.alpha = Number(t.data[0]);
    else if (/down|lora_A/.test(part)) entry.parts.down = t;
    else entry.parts.up = t;
  }
  return { pairs, unknown };
}

/** A1111's `addnet_hash_safetensors` short hash: sha256 of everything after the header, first 12 hex digits. */
export function loraShortHash(file: string): string {
  const header = readSafetensorsHeader(file);
  const lenBuf = Buffer.alloc(8);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, lenBuf, 0, 8, 0);
    const start = 8 + Number(lenBuf.readBigUInt64LE(0));
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    for (let pos = start; pos < header.fileSize;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, header.fileSize - pos), pos);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
    return hash.digest('hex').slice(0, 12);
  } finally {
    closeSync(fd);
  }
}

/** Module names a LoRA may use for each Linear of a component: the dotted path, and kohya's underscored forms. */
function moduleIndex(component: string, root: Module, layout?: UNetLayout): Map<string, Linear> {
  const index = new Map<string, Linear>();
  for (const [path, lin] of namedLinears(root)) {
    index.set(path, lin);
    index.set(path.replaceAll('.', '_'), lin);
    if (component === 'unet' && layout) {
      const ldm = ldmUNetKey(`${path}.weight`, layout);
      if (ldm) index.set(ldm.slice(0, -'.weight'.length).replaceAll('.', '_'), lin);
    }
  }
  return index;
}

/** The term c·up·down of one pair as transposed factors, checked against the Linear's shape. */
function factors(file: string, key: string, lin: Linear, p: { down?: LoadedTensor; up?: LoadedTensor; alpha?: number }, scale: number): { rank: number; downT: Float32Array; upT: Float32Array } {
  const { down, up } = p;
  if (!down || !up) throw new WeightsError(`${file}: "${key}" has no ${down ? 'up' : 'down'} weight`);
  const [rank, inF] = down.shape as [number, number];
  const [outF, rank2] = up.shape as [number, number];
  if (down.shape.length !== 2 || up.shape.length !== 2 || rank2 !== rank || inF !== lin.inFeatures || outF !== lin.outFeatures) {
    throw new WeightsError(`${file}: "${key}" has down [${down.shape}] and up [${up.shape}], which do not fit the model's Linear [${lin.outFeatures}, ${lin.inFeatures}] (a LoRA for another model?)`);
  }
  const c = scale * ((p.alpha ?? rank) / rank);
  const d = down.data as Float32Array;
  const u = up.data as Float32Array;
  const downT = new Float32Array(inF * rank);
  for (let r = 0; r < rank; r++) for (let i = 0; i < inF; i++) downT[i * rank + r] = d[r * inF + i]!;
  const upT = new Float32Array(rank * outF);
  for (let o = 0; o < outF; o++) for (let r = 0; r < rank; r++) upT[r * outF + o] = c * u[o * rank + r]!;
  return { rank, downT, upT };
}

/** Appends a low-rank term to a Linear's existing one (several LoRAs: concatenated along the rank). */
function addLowRank(lin: Linear, t: { rank: number; downT: Float32Array; upT: Float32Array }): void {
  const old = lin.lowRank;
  if (!old) return lin.setLowRank(t);
  const inF = lin.inFeatures;
  const R = old.rank + t.rank;
  const downT = new Float32Array(inF * R);
  for (let i = 0; i < inF; i++) {
    downT.set(old.downT.subarray(i * old.rank, (i + 1) * old.rank), i * R);
    downT.set(t.downT.subarray(i * t.rank, (i + 1) * t.rank), i * R + old.rank);
  }
  const upT = new Float32Array(R * lin.outFeatures);
  upT.set(old.upT);
  upT.set(t.upT, old.upT.length);
  lin.setLowRank({ rank: R, downT, upT });
}

type LoraEntry = { component: string; name: string; parts: { down?: LoadedTensor; up?: LoadedTensor; alpha?: number } };

/**
 * The `--lora` files of a load, applied component by component as the loader builds each module tree (before
 * its graph is built), then checked once with finish().
 */
export class LoraSet {
  private readonly loaded: Array<{ spec: LoraSpec; pairs: Map<string, LoraEntry>; unknown: string[]; matched: Set<string> }>;

  /** Reads every file (small: the low-rank factors only). @throws WeightsError for an unreadable file. */
  constructor(specs: readonly LoraSpec[]) {
    this.loaded = specs.map((spec) => ({ spec, ...readLoraFile(spec.file), matched: new Set<string>() }));
  }

  get size(): number {
    return this.loaded.length;
  }

  /** Adds every LoRA's terms for `component` ('unet', 'text_encoder', 'text_encoder_2') to the Linears of `root`. */
  apply(component: string, root: Module, unetLayout?: UNetLayout): void {
    if (this.loaded.length === 0) return;
    const index = moduleIndex(component, root, unetLayout);
    for (const l of this.loaded) {
      for (const [id, entry] of l.pairs) {
        if (entry.component !== component) continue;
        const lin = index.get(entry.name);
        if (!lin) continue;
        addLowRank(lin, factors(l.spec.file, id, lin, entry.parts, l.spec.scale));
        l.matched.add(id);
      }
    }
  }

  /**
   * After every component was applied: one warning line per LoRA with unmatched entries (how many, an example).
   * @throws OptionsError for a LoRA that matched no module.
   */
  finish(onWarning?: (message: string) => void): AppliedLora[] {
    return this.loaded.map((l) => {
      const unmatched = [...l.unknown, ...[...l.pairs.keys()].filter((id) => !l.matched.has(id))];
      if (l.matched.size === 0) {
        throw new OptionsError(`--lora ${l.spec.file}: none of its ${l.pairs.size + l.unknown.length} entries matches a module of this model (e.g. "${unmatched[0] ?? 'none'}"); is it a LoRA for another model family?`);
      }
      if (unmatched.length > 0) onWarning?.(`--lora ${basename(l.spec.file)}: ${unmatched.length} entries match no module and are ignored (e.g. "${unmatched[0]}")`);
      return { name: basename(l.spec.file, extname(l.spec.file)), file: l.spec.file, scale: l.spec.scale, hash: loraShortHash(l.spec.file), matchedModules: l.matched.size, unmatchedKeys: unmatched.length };
    });
  }
}
