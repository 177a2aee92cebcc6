// Media generation parity: `onnx-chat generate --json` (processor, encoders, feature injection,
// engine) gives the same prompt ids and the same greedy ids as transformers.js generate() for one
// image, three images, one audio clip, and audio with an image, on the Gemma-3n fixture. Both
// sides read the same files; their pixel values and audio features are compared separately
// (tests/media), so a difference here is in the prompt expansion, the encoders or the injection.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateJson } from '../lib/generate.mjs';
import { ensureFixtures } from '../lib/fixtures.mjs';
import sharp from 'sharp';
import { testPattern, sox } from '../lib/media.mjs';
import { loadReference, disposeReference, generateGreedy } from '../reference/runner.mjs';

const MAX_NEW = 16;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-media-parity-'));
let root;

const png = (file, width, height, seed) =>
  sharp(Buffer.from(testPattern(width, height, 3, seed)), { raw: { width, height, channels: 3 } })
    .png()
    .toFile(path.join(tmp, file));

before(async () => {
  root = ensureFixtures(['gemma3n-tiny']);
  // PNGs (lossless: both sides decode the same pixels) whose resize both sides compute identically
  // (downscales and the model's own size).
  await png('a.png', 1536, 1536, 1);
  await png('b.png', 800, 600, 2);
  await png('c.png', 768, 768, 3);
  // 16 kHz mono speech-like clip: a chirp over noise (both sides then see the same samples).
  sox(['-n', '-r', '16000', '-c', '1', '-b', '16', path.join(tmp, 'clip.wav'), 'synth', '4', 'sine', '200-1200',
    'synth', '4', 'pinknoise', 'mix', 'vol', '0.4']);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const text = (t) => ({ type: 'text', text: t });
const CASES = [
  {
    name: 'one image',
    messages: [{ role: 'user', content: [{ type: 'image' }, text('Describe this picture.')] }],
    images: ['a.png'],
  },
  {
    name: 'three images',
    messages: [
      { role: 'user', content: [{ type: 'image' }, text('Compare'), { type: 'image' }, { type: 'image' }, text('these.')] },
    ],
    images: ['a.png', 'b.png', 'c.png'],
  },
  {
    name: 'audio',
    messages: [{ role: 'user', content: [{ type: 'audio' }, text('Transcribe this clip.')] }],
    audio: ['clip.wav'],
  },
  {
    name: 'audio and image',
    messages: [
      { role: 'system', content: 'You describe media.' },
      { role: 'user', content: [{ type: 'image' }, { type: 'audio' }, text('What do you see and hear?')] },
    ],
    images: ['b.png'],
    audio: ['clip.wav'],
  },
];

for (const [preset, dtype] of [
  ['FP32', 'fp32'],
  // The model card's mix: fp16 vision encoder (features cast to the decoder's float32 embeddings),
  // 8-bit audio encoder, q4 decoder.
  ['Q4_MIXED', 'decoder_model_merged=q4,embed_tokens=quantized,vision_encoder=fp16,audio_encoder=quantized'],
]) {
  test(`media greedy ids equal transformers.js on gemma3n-tiny (${preset})`, async () => {
    const dir = path.join(root, 'gemma3n-tiny');
    const ref = await loadReference(dir, { dtype });
    try {
      for (const [i, c] of CASES.entries()) {
        const want = await generateGreedy(ref, c.messages, {
          images: (c.images ?? []).map((f) => path.join(tmp, f)),
          audio: (c.audio ?? []).map((f) => path.join(tmp, f)),
          maxNewTokens: MAX_NEW,
        });
        const got = generateJson({
          model: dir,
          preset,
          file: path.join(tmp, `case${i}.json`),
          spec: { messages: c.messages, images: c.images ?? [], audio: c.audio ?? [] },
          maxTokens: MAX_NEW,
        });
        assert.deepEqual(got.prompt_ids, want.promptIds, `${c.name}: prompt ids (placeholder expansion)`);
        assert.deepEqual(got.ids, want.generatedIds, `${c.name}: generated ids`);
        const images = (c.images ?? []).length;
        const clips = (c.audio ?? []).length;
        assert.equal(got.usage.image_tokens, 256 * images, `${c.name}: image tokens`);
        assert.equal(got.usage.audio_tokens, 188 * clips, `${c.name}: audio tokens`);
        assert.equal(got.timings.media_encoded, images + clips, `${c.name}: encoder runs`);
      }
    } finally {
      await disposeReference(ref);
    }
  });
}
