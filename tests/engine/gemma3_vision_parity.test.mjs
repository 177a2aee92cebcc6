// Gemma 3 vision parity: `onnx-chat generate --json` gives the same prompt ids (each image as
// "\n\n<start_of_image>" + 256 soft tokens + "<end_of_image>\n\n") and the same greedy ids as
// transformers.js on the gemma3-tiny fixture (Gemma 3 export layout: vision_encoder
// pixel_values [N,3,896,896] -> image_features [N,256,H]) for one image and for several images.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateJson } from '../lib/generate.mjs';
import { ensureFixtures } from '../lib/fixtures.mjs';
import { testPattern } from '../lib/media.mjs';
import { loadReference, disposeReference, generateGreedy } from '../reference/runner.mjs';

const MAX_NEW = 12;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-gemma3-vision-'));
let root;

const png = (file, width, height, seed) =>
  sharp(Buffer.from(testPattern(width, height, 3, seed)), { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path.join(tmp, file));

before(async () => {
  root = ensureFixtures(['gemma3-tiny']);
  // Downscales and the model's own size: both sides resize these identically.
  await png('a.png', 1792, 1792, 11);
  await png('b.png', 1200, 900, 12);
  await png('c.png', 896, 896, 13);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const text = (t) => ({ type: 'text', text: t });
const CASES = [
  { name: 'one image', messages: [{ role: 'user', content: [{ type: 'image' }, text('What is this?')] }], images: ['a.png'] },
  {
    name: 'three images',
    messages: [{ role: 'user', content: [text('Compare'), { type: 'image' }, { type: 'image' }, text('and'), { type: 'image' }] }],
    images: ['b.png', 'c.png', 'a.png'],
  },
  {
    name: 'images over two turns',
    messages: [
      { role: 'user', content: [{ type: 'image' }, text('First.')] },
      { role: 'assistant', content: 'I see it.' },
      { role: 'user', content: [text('And now'), { type: 'image' }] },
    ],
    images: ['c.png', 'b.png'],
  },
];

test('gemma3-tiny: image prompts and greedy ids equal transformers.js', async () => {
  const dir = path.join(root, 'gemma3-tiny');
  const ref = await loadReference(dir, { dtype: 'fp32' });
  try {
    for (const [i, c] of CASES.entries()) {
      const want = await generateGreedy(ref, c.messages, { images: c.images.map((f) => path.join(tmp, f)), maxNewTokens: MAX_NEW });
      const got = generateJson({
        model: dir,
        preset: 'FP32',
        file: path.join(tmp, `case${i}.json`),
        spec: { messages: c.messages, images: c.images },
        maxTokens: MAX_NEW,
      });
      assert.deepEqual(got.prompt_ids, want.promptIds, `${c.name}: prompt ids`);
      assert.deepEqual(got.ids, want.generatedIds, `${c.name}: generated ids`);
      assert.equal(got.usage.image_tokens, 256 * c.images.length, `${c.name}: image tokens`);
      assert.equal(got.timings.media_encoded, new Set(c.images).size, `${c.name}: encoder runs`);
    }
  } finally {
    await disposeReference(ref);
  }
});
