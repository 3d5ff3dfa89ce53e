import test from 'node:test';
import assert from 'node:assert/strict';
import { createPromptEncoder } from '../../src/loading/text-encoders.js';
import { guidedConditions } from '../../src/prompts/conditions.js';
import { tinySdxl } from '../helpers/paths.js';

test('guidedConditions: windows with the same prompt share one encoding; rows equal encoding each prompt alone', async () => {
  const encoder = await createPromptEncoder(tinySdxl);
  try {
    const ctx = { encoder, negativePrompt: null, classifierFreeGuidance: true, textTime: true, targetHeight: 512, targetWidth: 768 };
    const prompts = ['a red circle', 'a blue square', 'a red circle', 'a red circle'];
    const crops = [[0, 0], [0, 128], [128, 0], [128, 128]] as const;
    const conds = await guidedConditions(ctx, prompts, crops);
    assert.equal(conds.length, 4);
    // one encoding per distinct prompt: the three "a red circle" windows view the same memory
    assert.equal(conds[0]!.positive.embeds.buffer, conds[2]!.positive.embeds.buffer);
    assert.equal(conds[0]!.positive.embeds.byteOffset, conds[3]!.positive.embeds.byteOffset);
    assert.notEqual(conds[0]!.positive.embeds.byteOffset, conds[1]!.positive.embeds.byteOffset);
    // each row equals the prompt encoded on its own
    for (const [k, p] of prompts.entries()) {
      const alone = await encoder.encode([p]);
      assert.deepEqual(Array.from(conds[k]!.positive.embeds), Array.from(alone.promptEmbeds.data));
      assert.deepEqual(Array.from(conds[k]!.positive.pooled!), Array.from(alone.pooled!.data));
      // micro-conditioning: target size twice around the window's crop
      assert.deepEqual(conds[k]!.positive.timeIds, [512, 768, crops[k]![0], crops[k]![1], 512, 768]);
      assert.deepEqual(conds[k]!.negative!.timeIds, conds[k]!.positive.timeIds);
    }
    // SDXL forces zeros for an absent negative prompt
    assert.ok(conds[1]!.negative!.embeds.every((v) => v === 0));
  } finally {
    await encoder.release();
  }
});
