// The fixture models (tools/fixtures/make_fixtures.py) load and generate in the reference runner
// (transformers.js), for every decoder variant, text-only, with an image and with audio; the
// outputs are deterministic and depend on the prompt, the image and the audio.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fixturesDir } from '../lib/paths.mjs';
import { ensureFixtures, decoderVariants, testImage, testTone } from '../lib/fixtures.mjs';
import { loadReference, disposeReference, generateGreedy, renderPrompt, toRawImage } from './runner.mjs';

const root = fixturesDir();
ensureFixtures();
const fixtures = fs
  .readdirSync(root)
  .filter((n) => n.startsWith('gemma3n-') && fs.existsSync(path.join(root, n, 'config.json')))
  .filter((n) => n !== 'gemma3n-bench' || process.env.ONNX_CHAT_TEST_BENCH_FIXTURE === '1')
  .sort();

const MAX_NEW = 8;
// With the real 262400-id vocabulary every media prefill computes ~300 x 262400 logits (as the real
// model does, ~2-5 s of CPU each): on that fixture media prompts run once per decoder variant;
// repeat runs and different-media checks use the small-vocabulary fixture.
const repeatMedia = (name) => name === 'gemma3n-tiny';
const textA = [
  { role: 'system', content: 'You are brief.' },
  { role: 'user', content: 'Hello, how are you today?' },
];
const textB = [{ role: 'user', content: 'Tell me a story about a robot who learns to paint.' }];
const withImage = [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is in this image?' }] }];
const withAudio = [{ role: 'user', content: [{ type: 'audio' }, { type: 'text', text: 'Describe the audio clip.' }] }];
const withBoth = [
  { role: 'user', content: [{ type: 'image' }, { type: 'audio' }, { type: 'text', text: 'Compare them.' }] },
];

test('fixtures exist', () => {
  assert.ok(fixtures.includes('gemma3n-tiny'), `gemma3n-tiny missing in ${root}`);
  assert.ok(fixtures.includes('gemma3n-gemmatok'), `gemma3n-gemmatok missing in ${root}`);
});

for (const name of fixtures) {
  const dir = path.join(root, name);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const vocab = config.text_config.vocab_size;
  const eos = new Set(config.eos_token_id);
  const fp32Outputs = {};

  for (const variant of decoderVariants(dir)) {
    describe(`${name} decoder ${variant}`, () => {
      let ref;
      const outs = {};
      before(async () => {
        ref = await loadReference(dir, { dtype: { decoder_model_merged: variant } });
      });
      after(async () => {
        if (ref) await disposeReference(ref);
      });

      const gen = async (key, messages, opts = {}) => {
        const r = await generateGreedy(ref, messages, { maxNewTokens: MAX_NEW, ...opts });
        assert.ok(r.generatedIds.length > 0, 'no tokens generated');
        for (const id of r.generatedIds) assert.ok(Number.isInteger(id) && id >= 0 && id < vocab, `id ${id}`);
        // Stops only at eos or the limit.
        const last = r.generatedIds.at(-1);
        assert.ok(r.generatedIds.length === MAX_NEW || eos.has(last), `stopped early at ${last}`);
        outs[key] = r.generatedIds;
        return r;
      };

      test('text: deterministic, prompt-dependent', async () => {
        const a1 = await gen('textA', textA);
        const a2 = await generateGreedy(ref, textA, { maxNewTokens: MAX_NEW });
        assert.deepEqual(a2.generatedIds, a1.generatedIds, 'two runs differ');
        const b = await gen('textB', textB);
        assert.notDeepEqual(b.generatedIds, a1.generatedIds, 'different prompts, same output');
        assert.equal(a1.promptIds[0], config.text_config.bos_token_id);
      });

      test('image: features reach the decoder', async () => {
        const r1 = await gen('image1', withImage, { images: [testImage(0)] });
        const expected = config.vision_soft_tokens_per_image;
        assert.equal(r1.promptIds.filter((t) => t === config.image_token_id).length, expected);
        if (!repeatMedia(name)) return;
        const again = await generateGreedy(ref, withImage, { images: [testImage(0)], maxNewTokens: MAX_NEW });
        assert.deepEqual(again.generatedIds, r1.generatedIds, 'two runs differ');
        const r2 = await gen('image2', withImage, { images: [testImage(1)] });
        assert.deepEqual(r2.promptIds, r1.promptIds);
        assert.notDeepEqual(r2.generatedIds, r1.generatedIds, 'different images, same output');
      });

      test('audio: features reach the decoder', async () => {
        const r1 = await gen('audio1', withAudio, { audio: [testTone(440, 2)] });
        assert.equal(r1.promptIds.filter((t) => t === config.audio_token_id).length, config.audio_soft_tokens_per_image);
        if (!repeatMedia(name)) return;
        const again = await generateGreedy(ref, withAudio, { audio: [testTone(440, 2)], maxNewTokens: MAX_NEW });
        assert.deepEqual(again.generatedIds, r1.generatedIds, 'two runs differ');
        const r2 = await gen('audio2', withAudio, { audio: [testTone(1800, 1)] });
        assert.deepEqual(r2.promptIds, r1.promptIds);
        assert.notDeepEqual(r2.generatedIds, r1.generatedIds, 'different clips, same output');
      });

      if (variant === 'fp32') {
        test('template and special tokens', async () => {
          const prompt = renderPrompt(ref, [
            { role: 'system', content: ' Be brief. ' },
            { role: 'user', content: [{ type: 'text', text: ' Hi ' }, { type: 'image' }, { type: 'audio' }] },
            { role: 'assistant', content: 'Hello!' },
            { role: 'user', content: 'Bye' },
          ]);
          assert.equal(
            prompt,
            '<bos><start_of_turn>user\nBe brief.\n\nHi<image_soft_token><audio_soft_token><end_of_turn>\n' +
              '<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n',
          );
          assert.throws(() => renderPrompt(ref, [{ role: 'assistant', content: 'x' }]), /alternate/);
          const tok = ref.processor.tokenizer;
          const want = {
            '<bos>': config.text_config.bos_token_id,
            '<start_of_image>': config.boi_token_id,
            '<end_of_image>': config.eoi_token_id,
            '<image_soft_token>': config.image_token_id,
            '<start_of_audio>': config.boa_token_id,
            '<end_of_audio>': config.eoa_token_id,
            '<audio_soft_token>': config.audio_token_id,
            '<end_of_turn>': 106,
          };
          for (const [text, id] of Object.entries(want)) {
            assert.deepEqual(tok.encode(text, { add_special_tokens: false }), [id], text);
          }
          // Every id the LM head can produce decodes.
          for (const id of [0, vocab - 1, config.eoi_token_id + 2, config.eoa_token_id + 2]) {
            assert.equal(typeof tok.decode([id]), 'string');
          }
        });
      }

      if (name === 'gemma3n-tiny') {
        test('image and audio in one prompt', async () => {
          await gen('both', withBoth, { images: [testImage(0)], audio: [testTone(440, 2)] });
        });
      }

      // The quantized weights are exactly the fp32 weights (see tools/fixtures/weights.py), so a
      // quantized decoder must generate what the fp32 one does.
      test('same greedy tokens as the fp32 decoder', (t) => {
        // Both texts were generated (by the text test above) in every variant, fp32 included.
        for (const key of ['textA', 'textB']) assert.ok(outs[key]?.length > 0, `${variant}: no ${key} tokens to compare`);
        if (variant === 'fp32') {
          Object.assign(fp32Outputs, outs);
          return;
        }
        if (!fp32Outputs.textA) {
          t.skip('the fp32 variant did not run (filtered out): nothing to compare with');
          return;
        }
        for (const key of ['textA', 'textB']) assert.deepEqual(outs[key], fp32Outputs[key], key);
      });
    });
  }
}

test('gemma3n-tiny: every component variant together (model card mix) matches fp32', async () => {
  const dir = path.join(root, 'gemma3n-tiny');
  const mix = {
    embed_tokens: 'quantized',
    decoder_model_merged: 'q4',
    vision_encoder: 'fp16',
    audio_encoder: 'quantized',
  };
  const a = await loadReference(dir, { dtype: mix });
  const b = await loadReference(dir, { dtype: { embed_tokens: 'q4' } });
  const c = await loadReference(dir, { dtype: 'fp32' });
  try {
    for (const [messages, opts] of [
      [textA, {}],
      [withAudio, { audio: [testTone(440, 2)] }],
    ]) {
      const want = (await generateGreedy(c, messages, { maxNewTokens: MAX_NEW, ...opts })).generatedIds;
      assert.deepEqual((await generateGreedy(a, messages, { maxNewTokens: MAX_NEW, ...opts })).generatedIds, want);
      assert.deepEqual((await generateGreedy(b, messages, { maxNewTokens: MAX_NEW, ...opts })).generatedIds, want);
    }
    // fp16 vision: close to fp32, so only check it runs and stays in range.
    const r = await generateGreedy(a, withImage, { images: [testImage(0)], maxNewTokens: MAX_NEW });
    assert.ok(r.generatedIds.length > 0);
  } finally {
    await Promise.all([a, b, c].map(disposeReference));
  }
});

test('gemma3n-tiny: media given as tensors generate what media given as data do', async () => {
  const ref = await loadReference(path.join(root, 'gemma3n-tiny'));
  try {
    const both = { images: [testImage(1)], audio: [testTone(700, 1.5)] };
    const viaData = await generateGreedy(ref, withBoth, { ...both, maxNewTokens: MAX_NEW });
    const { pixel_values } = await ref.processor.image_processor(await toRawImage(testImage(1)));
    const { input_features } = await ref.processor.feature_extractor(testTone(700, 1.5));
    const viaTensors = await generateGreedy(ref, withBoth, {
      pixelValues: pixel_values,
      inputFeatures: input_features,
      maxNewTokens: MAX_NEW,
    });
    assert.deepEqual(viaTensors.promptIds, viaData.promptIds);
    assert.deepEqual(viaTensors.generatedIds, viaData.generatedIds);
  } finally {
    await disposeReference(ref);
  }
});
