/**
 * `accdiffusion info` for a single-file checkpoint: the detected family and the architecture its configs
 * came from, the native size, and per component the parameters and dtypes of the tensors it binds
 * (headers only, no tensor data read), plus the file's tensors no component uses (EMA copies, buffers).
 */
import { basename } from 'node:path';
import type { ComponentInfo, InfoView } from './model-info-view.js';
import type { ComponentWeights } from '../weights/component-weights.js';
import { checkpointFolder } from './checkpoint-components.js';
import type { MappedKey } from './checkpoint-weights.js';
import { openCheckpoint, type OpenCheckpointOptions } from './single-file.js';

const FAMILY = { sd1: 'SD 1.x', sd2: 'SD 2.x', sdxl: 'SDXL' } as const;

/** Describes a checkpoint file; `devices` are the execution providers to list. */
export function describeCheckpoint(file: string, options: OpenCheckpointOptions, devices: readonly string[]): InfoView & { readonly unusedTensors: number } {
  const b = openCheckpoint(file, options);
  const folder = checkpointFolder(b);
  const used = new Set<string>();
  const component = (name: string, className: string, w: ComponentWeights & { mapping: ReadonlyMap<string, MappedKey> }): ComponentInfo => {
    const dtypes = new Set<string>();
    let parameters = 0;
    for (const key of w.keys()) {
      const ref = w.get(key)!;
      dtypes.add(ref.dtype === 'float32' ? 'F32' : ref.dtype === 'float16' ? 'F16' : 'BF16');
      parameters += ref.shape.reduce((a, c) => a * c, 1);
    }
    for (const m of w.mapping.values()) used.add(m.fullKey);
    return { name, library: name.startsWith('text') ? 'transformers' : 'diffusers', className, files: [basename(file)], dtypes: [...dtypes].sort(), parameters, pickleFiles: [] };
  };
  const components = [
    ...b.textEncoders.map((t) => component(t.spec.role.component, t.spec.architecture, t.weights)),
    component('unet', 'UNet2DConditionModel', b.unetWeights),
    component('vae', 'AutoencoderKL', b.vaeWeights),
  ];
  return {
    path: file,
    pipelineClass: folder.pipelineClass,
    family: `${FAMILY[b.layout]} single-file checkpoint; configs: ${b.architecture.name}`,
    nativeSize: folder.nativeSize,
    nativeLatentSize: folder.nativeLatentSize,
    vaeScaleFactor: folder.vaeScaleFactor,
    components,
    parameters: components.reduce((a, c) => a + c.parameters, 0),
    devices,
    unusedTensors: [...b.file.header.tensors.keys()].filter((k) => !used.has(k)).length,
  };
}
