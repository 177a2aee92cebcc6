// LLaVA parity on the llava-tiny fixture (the layout transformers.js runs: embed_tokens,
// vision_encoder, decoder_model_merged; LlavaProcessor with CLIPImageProcessor): the pixel values of
// a square, a wide and a tall image match transformers.js (shape, statistics, values), and
// `onnx-chat generate --json` gives the same prompt ids (the patch grid's count of `<image>`) and
// greedy ids. One image per request: transformers.js' LlavaProcessor expands only the first
// `<image>` of a prompt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { generateJson } from '../lib/generate.mjs';
import { ensureFixtures } from '../lib/fixtures.mjs';
import { compare, mediaDump, testPattern } from '../lib/media.mjs';
import { loadReference, disposeReference, generateGreedy, toRawImage } from '../reference/runner.mjs';

const MAX_NEW = 12;
const IMAGE_TOKENS = 64; // 64 px, 8 px patches
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-llava-'));
let root;

const IMAGES = { 'square.png': [300, 300, 1], 'wide.png': [500, 200, 2], 'tall.png': [120, 400, 3] };

before(async () => {
  root = ensureFixtures(['llava-tiny']);
  for (const [file, [width, height, seed]] of Object.entries(IMAGES))
    await sharp(Buffer.from(testPattern(width, height, 3, seed)), { raw: { width, height, channels: 3 } })
      .png()
      .toFile(path.join(tmp, file));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const stats = (a) => {
  let s = 0;
  let s2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean) };
};

test('llava-tiny: pixel values (shape, statistics, values) equal transformers.js', async () => {
  const dir = path.join(root, 'llava-tiny');
  const ref = await loadReference(dir);
  try {
    for (const file of Object.keys(IMAGES)) {
      const want = await ref.processor.image_processor(await toRawImage(path.join(tmp, file)));
      const out = path.join(tmp, `${file}.f32`);
      const got = mediaDump(['image', path.join(dir, 'preprocessor_config.json'), path.join(tmp, file), out], out);
      assert.ok(!got.error, got.error);
      assert.deepEqual(got.shape, want.pixel_values.dims.slice(1), `${file}: shape`);
      const w = stats(want.pixel_values.data);
      const g = stats(got.data);
      assert.ok(Math.abs(w.mean - g.mean) < 2e-3 && Math.abs(w.std - g.std) < 2e-3, `${file}: ${JSON.stringify({ w, g })}`);
      const d = compare(got.data, want.pixel_values.data);
      assert.ok(d.mean < 2e-3 && d.max < 0.1, `${file}: ${JSON.stringify(d)}`);
    }
  } finally {
    await disposeReference(ref);
  }
});

const text = (t) => ({ type: 'text', text: t });
const CASES = [
  { name: 'square', messages: [{ role: 'user', content: [{ type: 'image' }, text('What is this?')] }], images: ['square.png'] },
  { name: 'wide', messages: [{ role: 'user', content: [text('Describe:'), { type: 'image' }] }], images: ['wide.png'] },
  {
    name: 'tall, second turn',
    messages: [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: 'Hi.' },
      { role: 'user', content: [{ type: 'image' }, text('And this one?')] },
    ],
    images: ['tall.png'],
  },
];

test('llava-tiny: prompt ids and greedy ids equal transformers.js', async () => {
  const dir = path.join(root, 'llava-tiny');
  const ref = await loadReference(dir);
  try {
    for (const [i, c] of CASES.entries()) {
      const want = await generateGreedy(ref, c.messages, { images: c.images.map((f) => path.join(tmp, f)), maxNewTokens: MAX_NEW });
      const got = generateJson({ model: dir, file: path.join(tmp, `case${i}.json`), spec: { messages: c.messages, images: c.images }, maxTokens: MAX_NEW });
      assert.deepEqual(got.prompt_ids, want.promptIds, `${c.name}: prompt ids`);
      assert.deepEqual(got.ids, want.generatedIds, `${c.name}: generated ids`);
      assert.equal(got.usage.image_tokens, IMAGE_TOKENS, `${c.name}: image tokens`);
    }
  } finally {
    await disposeReference(ref);
  }
});
