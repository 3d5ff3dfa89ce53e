/**
 * LoRA (src/loading/lora.ts) against oracle/lora (test/fixtures/MODEL-FILES-README.md §10): diffusers 0.27.2 + PEFT with the LoRA fused at
 * scale 1.0 and 0.5, for tiny-sd (DDIM) and tiny-sdxl (Euler), kohya and diffusers formats: prompt embeddings within
 * 1e-4 and step/final latents within 1e-3. The low-rank term of two layers, added to the base weight, must equal the
 * fused weights of `<model>.merged_weights` within 1e-6 (names and scaling mapped right). Error paths: a LoRA for
 * another model is refused with one line, unmatched keys give one warning.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { LoraSet, namedLinears, parseLoraArgument } from '../../src/loading/lora.js';
import { unetLayoutOf } from '../../src/loading/ldm-key-map.js';
import { loadCLIPTextModel, loadUNet } from '../../src/loading/component-folder.js';
import { loadPipeline } from '../../src/pipeline/pipeline.js';
import type { RunContext } from '../../src/pipeline/pipeline-api.js';
import { maxAbsDiff, tensor, type Tensor } from '../../src/tensor/tensor.js';
import { OptionsError } from '../../src/errors.js';
import { oracleF32, oracleJson } from '../helpers/oracle.js';
import { modelsDir, tinySd, tinySdxl } from '../helpers/paths.js';

const loraFile = (name: string) => join(modelsDir, 'lora', `${name}.safetensors`);
const MODELS = [
  { name: 'tiny-sd', dir: tinySd, scheduler: 'ddim' as const },
  { name: 'tiny-sdxl', dir: tinySdxl, scheduler: 'euler' as const },
];

test('parseLoraArgument: FILE[:SCALE], a colon in the path stays in the path', () => {
  assert.deepEqual(parseLoraArgument('a/b.safetensors'), { file: 'a/b.safetensors', scale: 1 });
  assert.deepEqual(parseLoraArgument('a/b.safetensors:0.5'), { file: 'a/b.safetensors', scale: 0.5 });
  assert.deepEqual(parseLoraArgument('C:/x/b.safetensors:-1'), { file: 'C:/x/b.safetensors', scale: -1 });
  assert.deepEqual(parseLoraArgument('C:/x/b.safetensors'), { file: 'C:/x/b.safetensors', scale: 1 });
});

for (const m of MODELS) {
  test(`${m.name}: base weight + low-rank term equals oracle merged_weights within 1e-6 (kohya and diffusers files)`, () => {
    const merged = `lora/${m.name}.merged_weights`;
    for (const format of ['kohya', 'diffusers']) {
      for (const scale of [1.0, 0.5]) {
        const unet = loadUNet(join(m.dir, 'unet'));
        const te2 = m.name === 'tiny-sdxl';
        const te = loadCLIPTextModel(join(m.dir, te2 ? 'text_encoder_2' : 'text_encoder'), te2 ? { architecture: 'CLIPTextModelWithProjection' } : {});
        const set = new LoraSet([{ file: loraFile(`${m.name}.${format}`), scale }]);
        set.apply('unet', unet.model, unetLayoutOf(unet.model.config));
        set.apply(te2 ? 'text_encoder_2' : 'text_encoder', te.model);
        const layers = m.name === 'tiny-sd'
          ? [['unet', unet.model, 'down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k'], ['text_encoder', te.model, 'text_model.encoder.layers.0.self_attn.q_proj']] as const
          : [['unet', unet.model, 'mid_block.attentions.0.transformer_blocks.1.attn1.to_out.0'], ['text_encoder_2', te.model, 'text_model.encoder.layers.4.self_attn.v_proj']] as const;
        for (const [component, root, path] of layers) {
          const lin = new Map(namedLinears(root)).get(path)!;
          const lr = lin.lowRank!;
          const base = oracleF32(merged, `${component}.${path}.weight.base`).data;
          const want = oracleF32(merged, `${component}.${path}.weight.scale${scale.toFixed(1)}`).data;
          let worst = 0;
          for (let o = 0; o < lin.outFeatures; o++) {
            for (let i = 0; i < lin.inFeatures; i++) {
              let d = 0;
              for (let r = 0; r < lr.rank; r++) d += lr.downT[i * lr.rank + r]! * lr.upT[r * lin.outFeatures + o]!;
              worst = Math.max(worst, Math.abs(base[o * lin.inFeatures + i]! + d - want[o * lin.inFeatures + i]!));
            }
          }
          assert.ok(worst <= 1e-6, `${format} ${scale} ${component}.${path}: ${worst}`);
        }
      }
    }
  });
}

for (const m of MODELS) {
  // The diffusers-format files hold the same weights (checked above at both scales); one pipeline run of them suffices.
  for (const [scale, format] of [['1.0', 'kohya'], ['0.5', 'kohya'], ['0.5', 'diffusers']] as const) {
    {
      test(`${m.name} + ${format} LoRA at ${scale}: oracle/lora/${m.name}.scale${scale} latents within 1e-3`, async () => {
        const rel = `lora/${m.name}.scale${scale}`;
        const call = oracleJson<{ call: { prompt: string; num_inference_steps: number; guidance_scale: number; height: number; width: number } }>(rel).call;
        const init = oracleF32(rel, 'latents_in');
        const warnings: string[] = [];
        const pipe = await loadPipeline(m.dir, { threads: 1, loras: [{ file: loraFile(`${m.name}.${format}`), scale: Number(scale) }], onProgress: (e) => e.type === 'warning' && warnings.push(e.message) });
        try {
          assert.deepEqual(warnings, []);
          assert.equal(pipe.model.loras?.[0]?.name, `${m.name}.${format}`);
          assert.match(pipe.model.loras?.[0]?.hash ?? '', /^[0-9a-f]{12}$/);
          const steps: Tensor[] = [];
          const ctx: RunContext = { onStepLatents: (_s, i, l) => (steps[i] = l) };
          const r = await pipe.generate(
            { prompt: call.prompt, negativePrompt: null, width: call.width, height: call.height, steps: call.num_inference_steps, guidance: call.guidance_scale, scheduler: m.scheduler, method: 'direct', initLatents: tensor(init.shape, init.data) },
            ctx,
          );
          steps.forEach((l, i) => assert.ok(maxAbsDiff(l, oracleF32(rel, `step_latents.${i}`).data) <= 1e-3, `step ${i}`));
          const d = maxAbsDiff(r.stages[0]!.latents, oracleF32(rel, 'output.latent').data);
          assert.ok(d <= 1e-3, `final latents: ${d}`);
        } finally {
          await pipe.dispose();
        }
      });
    }
  }
}

test('tiny-sdxl.safetensors (single file, --config tiny-sdxl) + kohya LoRA at 1.0: oracle/lora/tiny-sdxl.scale1.0 within 1e-3', async () => {
  const rel = 'lora/tiny-sdxl.scale1.0';
  const call = oracleJson<{ call: { prompt: string; num_inference_steps: number; guidance_scale: number; height: number; width: number } }>(rel).call;
  const init = oracleF32(rel, 'latents_in');
  const pipe = await loadPipeline(join(modelsDir, 'single-file', 'tiny-sdxl.safetensors'), { threads: 1, config: tinySdxl, loras: [{ file: loraFile('tiny-sdxl.kohya'), scale: 1 }] });
  try {
    const r = await pipe.generate({ prompt: call.prompt, negativePrompt: null, width: call.width, height: call.height, steps: call.num_inference_steps, guidance: call.guidance_scale, scheduler: 'euler', method: 'direct', initLatents: tensor(init.shape, init.data) });
    const d = maxAbsDiff(r.stages[0]!.latents, oracleF32(rel, 'output.latent').data);
    assert.ok(d <= 1e-3, `final latents: ${d}`);
  } finally {
    await pipe.dispose();
  }
});

test('a LoRA for another model is refused in one line; unmatched entries give one warning', async () => {
  await assert.rejects(loadPipeline(tinySd, { loras: [{ file: loraFile('tiny-sdxl.diffusers'), scale: 1 }] }), (e: Error) => /do not fit|matches a module/.test(e.message) && !e.message.includes('\n'));
  const unet = loadUNet(join(tinySd, 'unet'));
  const set = new LoraSet([{ file: loraFile('tiny-sd.kohya'), scale: 1 }]);
  set.apply('unet', unet.model, unetLayoutOf(unet.model.config));
  const warnings: string[] = [];
  const applied = set.finish((w) => warnings.push(w));
  assert.equal(applied[0]!.matchedModules, 48);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /20 entries match no module and are ignored \(e\.g\. "text_encoder\//);
  const none = new LoraSet([{ file: loraFile('tiny-sd.kohya'), scale: 1 }]);
  assert.throws(() => none.finish(), (e: Error) => e instanceof OptionsError && /none of its/.test(e.message));
});
