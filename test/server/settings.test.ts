/** The page's settings → GenerateOptions: the same defaults as the CLI and the library. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { REFERENCE_NEGATIVE_PROMPT, resolveOptions } from '../../src/options/index.js';
import { parseSettings } from '../../src/server/settings.js';

const models = [{ id: 'm', path: '/nowhere/m', nativeSize: 256, nativeLatentSize: 32, vaeScaleFactor: 8, sdxl: true }];

test('negative prompt: absent -> the reference default (as the CLI), empty -> none, text -> that text', () => {
  const neg = (extra: Record<string, unknown>) => resolveOptions(parseSettings({ model: 'm', prompt: 'a cat', ...extra }, models).options, 32).negativePrompt;
  assert.equal(neg({}), REFERENCE_NEGATIVE_PROMPT);
  assert.equal(neg({ negativePrompt: '' }), null);
  assert.equal(neg({ negativePrompt: 'dark' }), 'dark');
});
