// Gemma 4 parity on the gemma4-tiny fixture (the layout transformers.js 4.3.1 loads as
// Gemma4ForConditionalGeneration): the image patches (variable soft tokens, pixel position ids) and
// the audio log-mel frames (semicausal framing, frame mask) match transformers.js' Gemma4Processor,
// and `onnx-chat generate --json` gives the same prompt ids and greedy ids as transformers.js for
// text, one image, two images, audio, and an image with audio.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import sharp from 'sharp';
import { generateJson } from '../lib/generate.mjs';
import { ensureFixtures, testTone } from '../lib/fixtures.mjs';
import { compare, mediaDump, mediaDumpPath, testPattern } from '../lib/media.mjs';
import { loadReference, disposeReference, generateGreedy, readWav, toRawImage } from '../reference/runner.mjs';

const MAX_NEW = 12;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-gemma4-'));
let dir;
let ref;

// PNGs (lossless) whose resize both sides compute identically: downscales, and one image of the
// target size itself (912x672 stays as it is).
const IMAGES = { 'land.png': [1200, 900, 1], 'tall.png': [700, 1400, 2], 'exact.png': [912, 672, 3] };
const CLIPS = { 'tone.wav': [440, 2.0], 'short.wav': [1300, 0.37] };

function writeWav(file, samples) {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; ++i) data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767), 2 * i);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(16000, 24);
  h.writeUInt32LE(32000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([h, data]));
}

before(async () => {
  dir = path.join(ensureFixtures(['gemma4-tiny']), 'gemma4-tiny');
  for (const [file, [width, height, seed]] of Object.entries(IMAGES))
    await sharp(Buffer.from(testPattern(width, height, 3, seed)), { raw: { width, height, channels: 3 } })
      .png()
      .toFile(path.join(tmp, file));
  for (const [file, [freq, seconds]] of Object.entries(CLIPS)) writeWav(path.join(tmp, file), testTone(freq, seconds));
  ref = await loadReference(dir);
});
after(async () => {
  if (ref) await disposeReference(ref);
  fs.rmSync(tmp, { recursive: true, force: true });
});

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
const processorConfig = () => path.join(dir, 'processor_config.json');

test('gemma4-tiny: image patches, positions and soft tokens equal transformers.js', async () => {
  for (const file of Object.keys(IMAGES)) {
    const want = await ref.processor.image_processor(await toRawImage(path.join(tmp, file)));
    const out = path.join(tmp, `${file}.f32`);
    const got = mediaDump(['gemma4-image', processorConfig(), path.join(tmp, file), out], out);
    assert.ok(!got.error, got.error);
    assert.deepEqual(got.shape, want.pixel_values.dims.slice(1), `${file}: pixel_values shape`);
    const info = JSON.parse(execFileSync(mediaDumpPath(), ['gemma4-image', processorConfig(), path.join(tmp, file), out], { encoding: 'utf8' }));
    assert.equal(info.tokens, want.num_soft_tokens_per_image[0], `${file}: soft tokens`);
    const pos = new BigInt64Array(fs.readFileSync(`${out}.pos`).buffer.slice(0));
    assert.deepEqual(Array.from(pos), Array.from(want.image_position_ids.data), `${file}: position ids`);
    const w = stats(want.pixel_values.data);
    const g = stats(got.data);
    assert.ok(Math.abs(w.mean - g.mean) < 1e-5 && Math.abs(w.std - g.std) < 1e-5, `${file}: ${JSON.stringify({ w, g })}`);
    // The bilinear resize matches to the bit but for a rare rounding step (docs/media.md).
    const d = compare(got.data, want.pixel_values.data);
    assert.ok(d.max <= 1 / 255 + 1e-6 && d.differing < 1e-3, `${file}: ${JSON.stringify(d)}`);
    if (file === 'exact.png') assert.equal(d.max, 0, `${file}: not resized, must be exact`);
  }
});

test('gemma4-tiny: audio frames and frame mask equal transformers.js', async () => {
  for (const file of Object.keys(CLIPS)) {
    const want = await ref.processor.feature_extractor(readWav(path.join(tmp, file)));
    const out = path.join(tmp, `${file}.f32`);
    const got = mediaDump(['gemma4-audio', processorConfig(), path.join(tmp, file), out], out);
    assert.ok(!got.error, got.error);
    assert.deepEqual(got.shape, want.input_features.dims, `${file}: input_features shape`);
    const mask = fs.readFileSync(`${out}.mask`);
    assert.deepEqual(Array.from(mask), Array.from(want.input_features_mask.data, Number), `${file}: frame mask`);
    const w = stats(want.input_features.data);
    const g = stats(got.data);
    assert.ok(Math.abs(w.mean - g.mean) < 1e-4 && Math.abs(w.std - g.std) < 1e-4, `${file}: ${JSON.stringify({ w, g })}`);
    const d = compare(got.data, want.input_features.data);
    assert.ok(d.max < 1e-3 && d.mean < 1e-5, `${file}: ${JSON.stringify(d)}`);
  }
});

const text = (t) => ({ type: 'text', text: t });
const CASES = [
  { name: 'text', messages: [{ role: 'system', content: 'You are brief.' }, { role: 'user', content: 'Hello, how are you today?' }] },
  { name: 'one image', messages: [{ role: 'user', content: [{ type: 'image' }, text('What is in this image?')] }], images: ['land.png'] },
  {
    name: 'two images',
    messages: [{ role: 'user', content: [text('Compare'), { type: 'image' }, text('and'), { type: 'image' }] }],
    images: ['tall.png', 'exact.png'],
  },
  { name: 'audio', messages: [{ role: 'user', content: [{ type: 'audio' }, text('Describe the audio clip.')] }], audio: ['tone.wav'] },
  {
    name: 'image and audio',
    messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'audio' }, text('Compare them.')] }],
    images: ['exact.png'],
    audio: ['short.wav'],
  },
];

test('gemma4-tiny: prompt ids and greedy ids equal transformers.js', async () => {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  for (const [i, c] of CASES.entries()) {
    const images = c.images ?? [];
    const audio = c.audio ?? [];
    const want = await generateGreedy(ref, c.messages, {
      images: images.map((f) => path.join(tmp, f)),
      audio: audio.map((f) => path.join(tmp, f)),
      maxNewTokens: MAX_NEW,
    });
    const got = generateJson({
      model: dir,
      preset: 'FP32',
      file: path.join(tmp, `case${i}.json`),
      spec: { messages: c.messages, images, audio },
      maxTokens: MAX_NEW,
    });
    assert.deepEqual(got.prompt_ids, want.promptIds, `${c.name}: prompt ids`);
    assert.deepEqual(got.ids, want.generatedIds, `${c.name}: generated ids`);
    const count = (id) => want.promptIds.filter((t) => t === id).length;
    assert.equal(got.usage.image_tokens, count(cfg.image_token_id), `${c.name}: image tokens`);
    assert.equal(got.usage.audio_tokens, count(cfg.audio_token_id), `${c.name}: audio tokens`);
    if (images.length) assert.ok(got.usage.image_tokens > 0);
    if (audio.length) assert.ok(got.usage.audio_tokens > 0);
  }
});
