// `onnx-chat inspect` on the generated Gemma-3n and Gemma 4 fixtures and the other image families'
// fixtures, on the real Gemma 3 export's graphs, on the real stories260K model, and on folders that
// are not models.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { binPath, fixturesDir, sharedDir, repoDir } from '../lib/paths.mjs';
import { ensureFixtures } from '../lib/fixtures.mjs';

function inspect(args) {
  const r = spawnSync(binPath(), ['inspect', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function inspectJson(dir) {
  const r = inspect([dir, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
}

const fixture = path.join(fixturesDir(), 'gemma3n-tiny');
const haveGenerator = fs.existsSync(path.join(repoDir, 'tools/fixtures/make_fixtures.py'));

test('inspect reports the four Gemma-3n components, variants, decoder I/O and KV layout', { skip: !haveGenerator && 'fixture generator not present' }, () => {
  assert.ok(fs.existsSync(fixture), `fixture missing: ${fixture} (run tools/fixtures/make_fixtures.py)`);
  const info = inspectJson(fixture);
  assert.equal(info.model_type, 'gemma3n');
  const names = info.components.map((c) => c.name).sort();
  assert.deepEqual(names, ['audio_encoder', 'decoder_model_merged', 'embed_tokens', 'vision_encoder']);
  const decoder = info.components.find((c) => c.name === 'decoder_model_merged');
  const dtypes = decoder.variants.map((v) => v.dtype);
  assert.ok(dtypes.includes('fp32') && dtypes.length >= 2, `decoder variants: ${dtypes}`);
  for (const v of decoder.variants) {
    const inputs = Object.fromEntries(v.inputs.map((t) => [t.name, t]));
    assert.equal(inputs.inputs_embeds.type, 'float32');
    assert.ok(inputs.per_layer_inputs, 'per_layer_inputs');
    assert.equal(inputs.position_ids.type, 'int64');
    assert.ok(v.outputs.some((t) => t.name === 'logits'));
    const kv = v.kv_cache;
    assert.ok(kv.layers > 0);
    assert.equal(kv.past_key, 'past_key_values.{i}.key');
    assert.equal(kv.present_value, 'present.{i}.value');
    assert.equal(kv.presents_complete, true);
    assert.deepEqual(kv.problems, []);
    assert.equal(v.inputs.filter((t) => t.name.startsWith('past_key_values.')).length, 2 * kv.layers);
    assert.ok(v.bytes > 0);
  }
  // At least one component keeps its weights in external data, counted in its size.
  const external = info.components.flatMap((c) => c.variants).filter((v) => v.external_data.length > 0);
  assert.ok(external.length > 0, 'no variant with external data');
  for (const v of external) assert.ok(v.bytes > v.external_data[0].bytes);
  assert.deepEqual(info.modalities.text, { ready: true, missing: '' });
  assert.equal(info.modalities.image.ready, true);
  assert.equal(info.modalities.audio.ready, true);

  const text = inspect([fixture]);
  assert.equal(text.code, 0, text.err);
  assert.match(text.out, /decoder_model_merged \(decoder\)/);
  assert.match(text.out, /past_key_values\.\{0\.\.\d+\}\.key\s+float32/);
  assert.match(text.out, /kv cache: \d+ layers/);
});

test('inspect reads the real Gemma 3 export (all five variants, mask and num_logits_to_keep, no position_ids)', { skip: !sharedDir() && 'shared folder not beside the checkout' }, () => {
  const info = inspectJson(path.join(sharedDir(), 'real-graphs', 'gemma-3-4b-it'));
  assert.equal(info.model_type, 'gemma3');
  const decoder = info.components.find((c) => c.name === 'decoder_model_merged');
  assert.deepEqual(decoder.variants.map((v) => v.dtype), ['fp32', 'fp16', 'quantized', 'q4', 'q4f16']);
  for (const v of decoder.variants) {
    const names = v.inputs.map((t) => t.name);
    assert.ok(names.includes('attention_mask') && names.includes('num_logits_to_keep'));
    assert.ok(!names.includes('position_ids'));
    assert.equal(v.kv_cache.layers, 34);
    assert.equal(v.kv_cache.kv_heads, 4);
    assert.equal(v.kv_cache.head_dim, 256);
    assert.equal(v.kv_cache.group_query_attention, true);
    assert.equal(v.kv_cache.type, v.dtype.endsWith('16') ? 'float16' : 'float32');
    assert.ok(v.external_data_referenced.length > 0);
  }
  assert.equal(info.preset.chosen.decoder_model_merged, 'q4');
});

test('inspect reads the plain decoder layout of stories260K', { skip: !sharedDir() && 'shared folder not beside the checkout' }, () => {
  const info = inspectJson(path.join(sharedDir(), 'real-models', 'stories260K'));
  assert.equal(info.model_type, 'llama');
  const [model] = info.components;
  assert.equal(model.name, 'model');
  assert.equal(model.role, 'decoder');
  const kv = model.variants[0].kv_cache;
  assert.equal(kv.layers, 5);
  assert.deepEqual(kv.step_inputs, ['input_ids', 'position_ids', 'attention_mask']);
  assert.equal(kv.vocab, 512);
  assert.equal(info.modalities.text.ready, true);
});

test('inspect on a folder that is not a model exits non-zero with a one-line reason', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-inspect-'));
  try {
    for (const target of [dir, path.join(dir, 'missing')]) {
      const r = inspect([target]);
      assert.notEqual(r.code, 0);
      assert.equal(r.out, '');
      const lines = r.err.trim().split('\n');
      assert.equal(lines.length, 1, r.err);
      assert.match(lines[0], /not a model folder|is not a folder/);
    }
    fs.writeFileSync(path.join(dir, 'config.json'), '{}');
    const r = inspect([dir]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /no onnx\/\*\.onnx files/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('inspect --check runs the encoders and the decoder and reports each check', { skip: !haveGenerator && 'fixture generator not present' }, () => {
  const r = inspect([fixture, '--check', '--json', '--log-level', 'error']);
  const info = JSON.parse(r.out);
  const by = Object.fromEntries(info.checks.map((c) => [c.check.split(' ')[0], c]));
  assert.equal(by.vision_encoder.ok, true, by.vision_encoder.result);
  assert.match(by.vision_encoder.result, /^256 rows/);
  assert.equal(by.audio_encoder.ok, true, by.audio_encoder.result);
  assert.match(by.audio_encoder.result, /^188 rows/);
  assert.equal(by.logits.ok, true, by.logits.result);
  assert.match(by.logits.result, /^1032 values, max \|logit\| \d/);
  // Random weights rarely say EOS within 64 tokens: the check runs and the exit code follows it.
  assert.equal(by.greedy.ran, true);
  assert.equal(r.code, by.greedy.ok ? 0 : 1, r.err);
});

// Every image family: its encoders and modalities, and --check runs the vision encoder with the
// rows its processor expects for the check's image.
for (const [name, rows] of [['gemma3-tiny', 256], ['smolvlm-tiny', 320], ['llava-tiny', 64], ['llava-next-tiny', 70]]) {
  test(`inspect and inspect --check on ${name}`, { skip: !haveGenerator && 'fixture generator not present' }, () => {
    const dir = path.join(fixturesDir(), name);
    const info = inspectJson(dir);
    assert.deepEqual(info.components.map((c) => c.name).sort(), ['decoder_model_merged', 'embed_tokens', 'vision_encoder']);
    assert.equal(info.components.find((c) => c.name === 'vision_encoder').role, 'vision');
    assert.equal(info.modalities.image.ready, true);
    assert.equal(info.modalities.audio.ready, false);
    const r = inspect([dir, '--check', '--json', '--log-level', 'error']);
    const by = Object.fromEntries(JSON.parse(r.out).checks.map((c) => [c.check.split(' ')[0], c]));
    assert.equal(by.vision_encoder.ok, true, by.vision_encoder.result);
    assert.match(by.vision_encoder.result, new RegExp(`^${rows} rows`));
    assert.equal(by.audio_encoder.ran, false);
    assert.equal(by.logits.ok, true, by.logits.result);
    assert.equal(by.greedy.ran, true);
    assert.equal(r.code, by.greedy.ok ? 0 : 1, r.err);
  });
}

test('inspect --check on a text-only model skips the encoder checks', { skip: !sharedDir() && 'shared folder not beside the checkout' }, () => {
  const dir = path.join(sharedDir(), 'real-models', 'stories260K');
  const r = inspect([dir, '--check', '--json', '--log-level', 'error']);
  const info = JSON.parse(r.out);
  const enc = info.checks.filter((c) => c.check.includes('encoder'));
  assert.equal(enc.length, 2);
  for (const c of enc) assert.equal(c.ran, false, c.result);
  assert.equal(info.checks.find((c) => c.check.startsWith('logits')).ok, true);
});

test('inspect on gemma4-tiny: the Gemma 4 layout (position ids into the vision encoder, the KV of the unshared layers, the mask)', { skip: !haveGenerator && 'fixture generator not present' }, () => {
  const dir = path.join(ensureFixtures(['gemma4-tiny']), 'gemma4-tiny');
  const info = inspectJson(dir);
  assert.equal(info.model_type, 'gemma4');
  const component = (name) => info.components.find((c) => c.name === name);
  const vision = component('vision_encoder').variants[0];
  assert.deepEqual(vision.inputs.map((t) => [t.name, t.type]), [['pixel_values', 'float32'], ['pixel_position_ids', 'int64']]);
  assert.equal(vision.outputs[0].shape.length, 2, 'image_features [soft tokens, hidden]');
  for (const v of component('decoder_model_merged').variants) {
    assert.equal(v.kv_cache.layers, 3, 'past_key_values for the 3 layers that are not KV-shared');
    assert.ok(v.inputs.some((t) => t.name === 'attention_mask'));
  }
  for (const m of ['text', 'image', 'audio']) assert.equal(info.modalities[m].ready, true, m);
});
