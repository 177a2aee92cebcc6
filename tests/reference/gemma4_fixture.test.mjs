// The gemma4-tiny fixture (tools/fixtures/gemma4_repo.py) in the reference runner (transformers.js
// 4.3.1, Gemma4ForConditionalGeneration): the template and Gemma 4's special tokens, the soft
// tokens of images of several sizes and of audio clips as Gemma4Processor counts them, media that
// reach the decoder, and every decoder / embed_tokens variant generating what fp32 does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ensureFixtures, testImage, testTone } from '../lib/fixtures.mjs';
import { loadReference, disposeReference, generateGreedy, renderPrompt } from './runner.mjs';

const MAX_NEW = 8;
let dir;
let config;
let ref;

before(async () => {
  dir = path.join(ensureFixtures(['gemma4-tiny']), 'gemma4-tiny');
  config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  ref = await loadReference(dir);
});
after(async () => {
  if (ref) await disposeReference(ref);
});

const withImage = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in this image?' }] }];
const withAudio = [{ role: 'user', content: [{ type: 'audio' }, { type: 'text', text: 'Describe the audio clip.' }] }];
const count = (ids, id) => ids.filter((t) => t === id).length;

test('template and Gemma 4 special tokens', () => {
  const prompt = renderPrompt(ref, [
    { role: 'system', content: ' Be brief. ' },
    { role: 'user', content: [{ type: 'text', text: ' Hi ' }, { type: 'image' }, { type: 'audio' }] },
    { role: 'assistant', content: 'Hello!' },
  ]);
  assert.equal(
    prompt,
    '<bos><|turn>system\nBe brief.<turn|>\n<|turn>user\nHi<|image|><|audio|><turn|>\n<|turn>model\nHello!<turn|>\n<|turn>model\n',
  );
  const tok = ref.processor.tokenizer;
  const want = {
    '<bos>': config.text_config.bos_token_id,
    '<|image>': config.boi_token_id,
    '<image|>': config.eoi_token_id,
    '<|image|>': config.image_token_id,
    '<|audio>': config.boa_token_id,
    '<audio|>': config.eoa_token_id,
    '<|audio|>': config.audio_token_id,
    '<|turn>': 105,
    '<turn|>': 106,
  };
  for (const [text, id] of Object.entries(want)) assert.deepEqual(tok.encode(text, { add_special_tokens: false }), [id], text);
  assert.deepEqual(config.eos_token_id, [1, 106]);
});

test('images: soft tokens follow the image size; different images, different outputs', async () => {
  // 64x48 -> 912x672 (266 tokens); 200x50 -> 1584x384 (264); 50x200 -> 384x1584 (264).
  const sizes = [[64, 48, 266], [200, 50, 264], [50, 200, 264]];
  const outs = [];
  for (const [w, h, tokens] of sizes) {
    const r = await generateGreedy(ref, withImage, { images: [testImage(0, w, h)], maxNewTokens: MAX_NEW });
    assert.equal(count(r.promptIds, config.image_token_id), tokens, `${w}x${h}`);
    assert.equal(count(r.promptIds, config.boi_token_id), 1);
    outs.push(r.generatedIds);
  }
  const other = await generateGreedy(ref, withImage, { images: [testImage(1)], maxNewTokens: MAX_NEW });
  assert.notDeepEqual(other.generatedIds, outs[0], 'different images, same output');
});

test('audio: 40 ms per soft token; different clips, different outputs', async () => {
  const a = await generateGreedy(ref, withAudio, { audio: [testTone(440, 2)], maxNewTokens: MAX_NEW });
  assert.equal(count(a.promptIds, config.audio_token_id), 50);
  const b = await generateGreedy(ref, withAudio, { audio: [testTone(1800, 1)], maxNewTokens: MAX_NEW });
  assert.equal(count(b.promptIds, config.audio_token_id), 25);
  assert.notDeepEqual(b.generatedIds, a.generatedIds);
});

test('every decoder and embed_tokens variant generates what fp32 does', async () => {
  const cases = [
    [[{ role: 'user', content: 'Hello, how are you today?' }], {}],
    [withImage, { images: [testImage(0)] }],
    [withAudio, { audio: [testTone(440, 2)] }],
  ];
  const want = [];
  for (const [messages, opts] of cases) want.push((await generateGreedy(ref, messages, { ...opts, maxNewTokens: MAX_NEW })).generatedIds);
  for (const dtype of [{ decoder_model_merged: 'q4' }, { embed_tokens: 'quantized' }]) {
    const other = await loadReference(dir, { dtype });
    try {
      for (const [i, [messages, opts]] of cases.entries()) {
        const r = await generateGreedy(other, messages, { ...opts, maxNewTokens: MAX_NEW });
        assert.deepEqual(r.generatedIds, want[i], `${JSON.stringify(dtype)} case ${i}`);
      }
    } finally {
      await disposeReference(other);
    }
  }
});
