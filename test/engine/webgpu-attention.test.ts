import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fusedAttentionAccurate, probeDevice } from '../../src/engine/providers.js';
import { ModelSession } from '../../src/engine/session.js';
import { AutoencoderKL, bindVaeWeights, buildVaeDecodeGraph } from '../../src/models/autoencoder-kl.js';
import { loadAutoencoderKLConfig } from '../../src/loading/component-folder.js';
import { openComponentWeights } from '../../src/weights/component-weights.js';
import { maxAbsDiff } from '../../src/tensor/tensor.js';
import { oracleF32 } from '../helpers/oracle.js';
import { tinySd } from '../helpers/paths.js';

test('graphs for webgpu use explicit attention; cpu and cuda keep the fused MultiHeadAttention', () => {
  assert.equal(fusedAttentionAccurate('webgpu'), false);
  assert.equal(fusedAttentionAccurate('cpu'), true);
  assert.equal(fusedAttentionAccurate('cuda'), true);
  assert.equal(fusedAttentionAccurate(undefined), true);
});

// Runs where a WebGPU adapter exists (a GPU, or Mesa's software Vulkan through scripts/webgpu-lavapipe.sh).
test('webgpu: the VAE decoder the library builds for it matches diffusers within 1e-4', async (t) => {
  const reason = await probeDevice('webgpu');
  if (reason !== undefined) {
    t.skip(`no WebGPU adapter here: ${reason.slice(0, 80)}`);
    return;
  }
  const dir = join(tinySd, 'vae');
  const vae = new AutoencoderKL(loadAutoencoderKLConfig(dir));
  const weights = openComponentWeights(dir);
  bindVaeWeights(vae, weights);
  const graph = buildVaeDecodeGraph(vae, { fusedAttention: fusedAttentionAccurate('webgpu') });
  const s = await ModelSession.create(graph.toModelProto(), { weightsDir: weights.weightsDir, device: 'webgpu' });
  const got = (await s.run({ latent_sample: oracleF32('tiny-sd/vae', 'decode.input') })).sample!;
  await s.release();
  const d = maxAbsDiff(got, oracleF32('tiny-sd/vae', 'decode.output').data);
  t.diagnostic(`webgpu decode max abs diff ${d.toExponential(2)}`);
  assert.ok(d < 1e-4, `decode max abs diff ${d}`);
});
