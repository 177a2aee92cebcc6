// The dtype variants of one fixture compute the same function: the fixture generator draws weights
// that the quantized formats represent exactly (tools/fixtures/weights.py), so q4 / q8 outputs must
// match fp32 to rounding. That proves the MatMulNBits / GatherBlockQuantized packing. Runs the
// sessions directly in ONNX Runtime (the runtime transformers.js uses).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { ensureFixtures, componentVariants } from '../lib/fixtures.mjs';

const root = ensureFixtures();
const SUFFIX = { fp32: '', fp16: '_fp16', quantized: '_quantized', q4: '_q4', q4f16: '_q4f16' };

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

function f16ToF32(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function toF32(t) {
  if (t.type === 'float16') return Float32Array.from(t.data, f16ToF32);
  return t.data;
}

function maxAbsDiff(a, b) {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; ++i) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a) {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

async function session(dir, comp, variant) {
  return ort.InferenceSession.create(path.join(dir, 'onnx', `${comp}${SUFFIX[variant]}.onnx`));
}

function floatTensor(type, dims, rand, scale = 1) {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, () => rand() * 2 * scale);
  if (type === 'float16') {
    // Only zeros are needed for float16 inputs here (empty past).
    assert.equal(n, 0);
    return new ort.Tensor('float16', new Uint16Array(0), dims);
  }
  return new ort.Tensor('float32', data, dims);
}

/** Runs a decoder: prefill of S rows, then one step with the presents as past. */
async function runDecoder(sess, cfg, S, seed) {
  const rand = rng(seed);
  const tc = cfg.text_config;
  const feeds = {
    inputs_embeds: floatTensor('float32', [1, S, tc.hidden_size], rand, 2),
    per_layer_inputs: floatTensor('float32', [1, S, tc.num_hidden_layers, tc.hidden_size_per_layer_input], rand, 2),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: S }, (_, i) => BigInt(i)), [1, S]),
  };
  for (const m of sess.inputMetadata) {
    if (m.name.startsWith('past_key_values.')) {
      feeds[m.name] = floatTensor(m.type, [1, tc.num_key_value_heads, 0, tc.head_dim], rand);
    }
  }
  const first = await sess.run(feeds);
  const step = {
    inputs_embeds: floatTensor('float32', [1, 1, tc.hidden_size], rand, 2),
    per_layer_inputs: floatTensor('float32', [1, 1, tc.num_hidden_layers, tc.hidden_size_per_layer_input], rand, 2),
    position_ids: new ort.Tensor('int64', BigInt64Array.from([BigInt(S)]), [1, 1]),
  };
  for (const name of Object.keys(first)) {
    if (name.startsWith('present.')) step[name.replace('present.', 'past_key_values.')] = first[name];
  }
  const second = await sess.run(step);
  return { first, second };
}

for (const name of ['gemma3n-tiny', 'gemma3n-gemmatok']) {
  const dir = path.join(root, name);
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const tc = cfg.text_config;

  test(`${name}: decoder variants match fp32 (prefill and one cached step)`, async () => {
    const ref = await runDecoder(await session(dir, 'decoder_model_merged', 'fp32'), cfg, 7, 11);
    const refLogits = ref.second.logits.data;
    assert.ok(maxAbs(refLogits) <= tc.final_logit_softcapping + 1e-3, 'logits exceed the soft cap');
    assert.ok(maxAbs(refLogits) > 1, 'logits too flat to be useful');
    assert.deepEqual(ref.second['present.0.key'].dims, [1, tc.num_key_value_heads, 8, tc.head_dim]);
    for (const variant of componentVariants(dir, 'decoder_model_merged')) {
      if (variant === 'fp32') continue;
      const got = await runDecoder(await session(dir, 'decoder_model_merged', variant), cfg, 7, 11);
      // Same weights exactly: differences are accumulation order (fp32) or float16 compute.
      const tol = variant.includes('f16') || variant === 'fp16' ? 0.1 : 1e-4;
      for (const part of ['first', 'second']) {
        const d = maxAbsDiff(toF32(got[part].logits), ref[part].logits.data);
        assert.ok(d < tol, `${variant} ${part} logits differ by ${d}`);
        const k = `present.${tc.num_hidden_layers - 1}.value`;
        const dk = maxAbsDiff(toF32(got[part][k]), ref[part][k].data);
        assert.ok(dk < tol, `${variant} ${part} ${k} differs by ${dk}`);
      }
    }
  });

  test(`${name}: embed_tokens variants match fp32; media ids use per-layer row 0`, async () => {
    const ids = [cfg.text_config.bos_token_id, 105, 7, 300, cfg.image_token_id, cfg.audio_token_id, 0];
    const feeds = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) };
    const ref = await (await session(dir, 'embed_tokens', 'fp32')).run(feeds);
    const P = tc.num_hidden_layers * tc.hidden_size_per_layer_input;
    const pl = ref.per_layer_inputs.data;
    const row = (i) => Array.from(pl.slice(i * P, (i + 1) * P));
    assert.deepEqual(row(4), row(6), 'image token per-layer row != id 0');
    assert.deepEqual(row(5), row(6), 'audio token per-layer row != id 0');
    assert.notDeepEqual(row(2), row(6));
    for (const variant of componentVariants(dir, 'embed_tokens')) {
      if (variant === 'fp32') continue;
      const got = await (await session(dir, 'embed_tokens', variant)).run(feeds);
      assert.ok(maxAbsDiff(got.inputs_embeds.data, ref.inputs_embeds.data) < 1e-5, `${variant} inputs_embeds`);
      assert.ok(maxAbsDiff(got.per_layer_inputs.data, pl) < 1e-5, `${variant} per_layer_inputs`);
    }
  });

  test(`${name}: encoder variants match fp32; audio rows fixed at audio_seq_length`, async () => {
    const rand = rng(5);
    const px = new ort.Tensor('float32', Float32Array.from({ length: 3 * 768 * 768 }, () => rand() + 0.5), [1, 3, 768, 768]);
    const vref = await (await session(dir, 'vision_encoder', 'fp32')).run({ pixel_values: px });
    assert.deepEqual(vref.image_features.dims, [1, cfg.vision_soft_tokens_per_image, tc.hidden_size]);
    for (const variant of componentVariants(dir, 'vision_encoder')) {
      if (variant === 'fp32') continue;
      const got = await (await session(dir, 'vision_encoder', variant)).run({ pixel_values: px });
      const d = maxAbsDiff(got.image_features.data, vref.image_features.data);
      assert.ok(d < 0.1, `${variant} image_features differ by ${d}`);
    }
    const audio = await (await session(dir, 'audio_encoder', 'fp32')).run(audioFeeds(100, rand));
    assert.deepEqual(audio.audio_features.dims, [1, cfg.audio_soft_tokens_per_image, tc.hidden_size]);
    const long = await (await session(dir, 'audio_encoder', 'fp32')).run(audioFeeds(3500, rand));
    assert.deepEqual(long.audio_features.dims, [1, cfg.audio_soft_tokens_per_image, tc.hidden_size]);
    for (const variant of componentVariants(dir, 'audio_encoder')) {
      if (variant === 'fp32') continue;
      const feeds = audioFeeds(100, rng(9));
      const a = await (await session(dir, 'audio_encoder', 'fp32')).run(feeds);
      const b = await (await session(dir, 'audio_encoder', variant)).run(feeds);
      const d = maxAbsDiff(a.audio_features.data, b.audio_features.data);
      assert.ok(d < 1e-3, `${variant} audio_features differ by ${d}`);
    }
  });
}

function audioFeeds(frames, rand) {
  const data = Float32Array.from({ length: frames * 128 }, () => rand() * 8 - 4);
  return {
    input_features: new ort.Tensor('float32', data, [1, frames, 128]),
    input_features_mask: new ort.Tensor('bool', new Uint8Array(frames).fill(1), [1, frames]),
  };
}

for (const name of ['gemma3n-tiny', 'gemma3n-gemmatok']) {
  test(`${name}: session metadata agrees with config.json`, async () => {
    const dir = path.join(root, name);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const tc = cfg.text_config;
    const pp = JSON.parse(fs.readFileSync(path.join(dir, 'processor_config.json'), 'utf8'));
    assert.equal(pp.image_seq_length, cfg.vision_soft_tokens_per_image);
    assert.equal(pp.audio_seq_length, cfg.audio_soft_tokens_per_image);
    for (const variant of componentVariants(dir, 'decoder_model_merged')) {
      const s = await session(dir, 'decoder_model_merged', variant);
      const past = s.inputMetadata.filter((m) => m.name.startsWith('past_key_values.'));
      assert.equal(past.length, 2 * tc.num_hidden_layers, variant);
      for (const m of past) {
        assert.deepEqual(m.shape, ['batch_size', tc.num_key_value_heads, 'past_sequence_length', tc.head_dim]);
        assert.equal(m.type, variant === 'q4f16' ? 'float16' : 'float32');
      }
      const byName = Object.fromEntries(s.inputMetadata.map((m) => [m.name, m]));
      assert.deepEqual(byName.inputs_embeds.shape, ['batch_size', 'sequence_length', tc.hidden_size]);
      assert.deepEqual(byName.per_layer_inputs.shape, [
        'batch_size', 'sequence_length', tc.num_hidden_layers, tc.hidden_size_per_layer_input,
      ]);
      assert.deepEqual(byName.position_ids.shape, ['batch_size', 'sequence_length']);
      assert.deepEqual(s.outputNames.slice(0, 3), ['logits', 'present.0.key', 'present.0.value']);
      assert.deepEqual(s.outputMetadata[0].shape, ['batch_size', 'sequence_length', tc.vocab_size]);
    }
  });
}
