/**
 * Writing one-file LDM/SGM checkpoints in tests: from an Architecture's configs (which give every parameter's
 * key and shape) through the forward key maps, either as a header-only sparse file of the real size (detection
 * tests on SD1/SD2/SDXL key sets without the gigabytes) or with real data from a diffusers folder.
 */
import { closeSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { AutoencoderKL } from '../../src/models/autoencoder-kl.js';
import { parseCLIPTextConfig } from '../../src/models/clip-config.js';
import { CLIPTextModel } from '../../src/models/clip-text-model.js';
import { parseUNet2DConditionConfig } from '../../src/models/unet-config.js';
import { UNet2DConditionModel } from '../../src/models/unet-2d-condition.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae-config.js';
import type { Architecture, CheckpointLayout } from '../../src/loading/architectures.js';
import { CHECKPOINT_PREFIX, ldmUNetKey, ldmVaeKey, openClipKey, type KeyTransform } from '../../src/loading/ldm-key-map.js';
import { loadSafetensors, writeSafetensors, type TensorToWrite } from '../../src/weights/safetensors.js';

/** One checkpoint tensor and the diffusers tensors it holds. */
export interface PlannedTensor {
  key: string;
  shape: number[];
  parts: Array<{ component: string; key: string; shape: readonly number[]; transform: KeyTransform }>;
}

/** The checkpoint tensors an architecture's modules give in the one-file layout. */
export function planCheckpoint(arch: Architecture, layout: CheckpointLayout): PlannedTensor[] {
  const out = new Map<string, PlannedTensor>();
  const add = (component: string, key: string, shape: readonly number[], full: string, transform: KeyTransform) => {
    let t = out.get(full);
    if (!t) {
      const s = transform.kind === 'conv1x1_to_linear' && shape.length === 2 ? [...shape, 1, 1]
        : transform.kind === 'transpose' ? [shape[1]!, shape[0]!]
          : transform.kind === 'in_proj_rows' ? [shape[0]! * 3, ...shape.slice(1)] : [...shape];
      t = { key: full, shape: s, parts: [] };
      out.set(full, t);
    }
    t.parts.push({ component, key, shape, transform });
  };
  const unetConfig = parseUNet2DConditionConfig(arch.unet, 'unet');
  const unet = new UNet2DConditionModel(unetConfig);
  const layout0 = { layersPerBlock: unetConfig.layers_per_block[0]!, upBlockHasAttentions: unetConfig.up_block_types.map((t) => t === 'CrossAttnUpBlock2D') };
  for (const [k, p] of unet.namedParameters()) add('unet', k, p.shape, CHECKPOINT_PREFIX.unet + ldmUNetKey(k, layout0)!, { kind: 'copy' });
  const vaeConfig = parseAutoencoderKLConfig(arch.vae, 'vae');
  const vae = new AutoencoderKL(vaeConfig);
  for (const [k, p] of vae.namedParameters()) {
    const at = ldmVaeKey(k, vaeConfig.block_out_channels.length)!;
    add('vae', k, p.shape, CHECKPOINT_PREFIX.vae + at.key, at.transform);
  }
  for (const te of arch.textEncoders) {
    const config = parseCLIPTextConfig(te.config, te.role.component, { architecture: te.architecture });
    const model = new CLIPTextModel(config);
    const openClip = layout === 'sd2' || te.role.component === 'text_encoder_2';
    const prefix = layout === 'sd2' ? CHECKPOINT_PREFIX.openClipSd2 : layout === 'sd1' ? CHECKPOINT_PREFIX.clipL[0] : openClip ? CHECKPOINT_PREFIX.openClipSdxl : CHECKPOINT_PREFIX.clipL[1];
    for (const [k, p] of model.namedParameters()) {
      const at = openClip ? openClipKey(k, config.hidden_size)! : { key: k, transform: { kind: 'copy' } as KeyTransform };
      add(te.role.component, k, p.shape, prefix + at.key, at.transform);
    }
  }
  return [...out.values()];
}

const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Writes only the header of a checkpoint of `tensors` (F16) and extends the file to its full size without
 * writing data (a sparse file): readers see the real key set, shapes and offsets.
 */
export function writeHeaderOnlyCheckpoint(file: string, tensors: Array<{ key: string; shape: readonly number[]; dtype?: string }>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    const dtype = t.dtype ?? 'F16';
    const bytes = count(t.shape) * (dtype === 'F32' || dtype === 'I32' ? 4 : dtype === 'I64' ? 8 : 2);
    header[t.key] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, len);
    writeSync(fd, json);
    ftruncateSync(fd, 8 + Buffer.byteLength(json) + offset);
  } finally {
    closeSync(fd);
  }
}

/** Writes a real one-file checkpoint of a diffusers folder (F32), converting each tensor by the plan. */
export function writeCheckpointFromFolder(file: string, folder: string, plan: PlannedTensor[]): void {
  const components = new Map<string, Map<string, { shape: readonly number[]; data: Float32Array }>>();
  const tensorOf = (component: string, key: string) => {
    let c = components.get(component);
    if (!c) {
      const dir = join(folder, component);
      const name = component === 'unet' || component === 'vae' ? 'diffusion_pytorch_model.safetensors' : 'model.safetensors';
      c = new Map([...loadSafetensors(join(dir, name))].map(([k, v]) => [k, { shape: v.shape, data: v.data as Float32Array }]));
      components.set(component, c);
    }
    return c.get(key)!;
  };
  const out: Record<string, TensorToWrite> = {};
  for (const t of plan) {
    const data = new Float32Array(count(t.shape));
    for (const p of t.parts) {
      const src = tensorOf(p.component, p.key);
      const tr = p.transform;
      if (tr.kind === 'transpose') {
        const [r, c] = src.shape as [number, number];
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = src.data[i * c + j]!;
      } else if (tr.kind === 'in_proj_rows') {
        data.set(src.data, tr.start * count(src.shape.slice(1)));
      } else {
        data.set(src.data);
      }
    }
    out[t.key] = { shape: t.shape, data };
  }
  writeSafetensors(file, out, { format: 'pt' });
}
