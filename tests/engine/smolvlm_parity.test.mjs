// SmolVLM / Idefics3 parity on the smolvlm-tiny fixture (SmolVLM-256M-Instruct's onnx/ layout):
// the frames of a square, a wide and a tall image (tiles + global image, 512 px) match
// transformers.js' Idefics3ImageProcessor (grid, pixel statistics, values), and
// `onnx-chat generate --json` gives the same prompt ids (<fake_token_around_image>,
// <row_R_col_C>, <global-img>, 64 <image> per frame) and greedy ids as transformers.js, with one
// image and with two images in one request.
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
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-smolvlm-'));
let root;

const IMAGES = { 'square.png': [600, 600, 1], 'wide.png': [1000, 400, 2], 'tall.png': [300, 900, 3] };

before(async () => {
  root = ensureFixtures(['smolvlm-tiny']);
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

test('smolvlm-tiny: image frames (grid, pixel statistics, values) equal transformers.js', async () => {
  const dir = path.join(root, 'smolvlm-tiny');
  const ref = await loadReference(dir);
  try {
    for (const file of Object.keys(IMAGES)) {
      const want = await ref.processor.image_processor(await toRawImage(path.join(tmp, file)), { return_row_col_info: true });
      const out = path.join(tmp, `${file}.f32`);
      const got = mediaDump(['frames', path.join(dir, 'preprocessor_config.json'), path.join(tmp, file), out], out);
      assert.ok(!got.error, got.error);
      assert.deepEqual(got.shape, want.pixel_values.dims.slice(1), `${file}: frames`);
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
  { name: 'square', messages: [{ role: 'user', content: [{ type: 'image' }, text('What is this?')] }], images: ['square.png'], frames: 5 },
  { name: 'wide', messages: [{ role: 'user', content: [{ type: 'image' }, text('Describe.')] }], images: ['wide.png'], frames: 3 },
  { name: 'tall', messages: [{ role: 'user', content: [text('Look:'), { type: 'image' }] }], images: ['tall.png'], frames: 3 },
  {
    name: 'two images',
    messages: [{ role: 'user', content: [{ type: 'image' }, text('and'), { type: 'image' }, text('compared?')] }],
    images: ['wide.png', 'square.png'],
    frames: 8,
  },
];

test('smolvlm-tiny: prompt ids and greedy ids equal transformers.js', async () => {
  const dir = path.join(root, 'smolvlm-tiny');
  const ref = await loadReference(dir);
  try {
    for (const [i, c] of CASES.entries()) {
      const want = await generateGreedy(ref, c.messages, { images: c.images.map((f) => path.join(tmp, f)), maxNewTokens: MAX_NEW });
      const got = generateJson({ model: dir, file: path.join(tmp, `case${i}.json`), spec: { messages: c.messages, images: c.images }, maxTokens: MAX_NEW });
      assert.deepEqual(got.prompt_ids, want.promptIds, `${c.name}: prompt ids`);
      assert.deepEqual(got.ids, want.generatedIds, `${c.name}: generated ids`);
      assert.equal(got.usage.image_tokens, 64 * c.frames, `${c.name}: image tokens`);
    }
  } finally {
    await disposeReference(ref);
  }
});
