// `onnx-chat tokenize` end to end: the whole parity corpus through --json for two tokenizers
// (one call each), compared with the reference's golden ids and decoded text; line mode and
// --decode on a few strings; errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { binPath } from '../../lib/paths.mjs';
import { modelsDir } from './tokenizers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const corpus = JSON.parse(fs.readFileSync(path.join(here, 'corpus.json'), 'utf8')).map((e) => e.text);
const golden = (name) => JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(here, 'golden', `${name}.json.gz`))));
const tokenize = (args, input) =>
  execFileSync(binPath(), ['tokenize', ...args], { input, encoding: 'utf8', maxBuffer: 256 << 20 });

for (const name of ['gemma3', 'qwen3']) {
  const dir = modelsDir(name);
  const skip = !fs.existsSync(path.join(dir, 'tokenizer.json')) && `npm tokenizer ${name} not installed`;

  test(`tokenize --json matches the reference on the corpus (${name})`, { skip }, () => {
    const g = golden(name);
    const ids = JSON.parse(tokenize([dir, '--json'], JSON.stringify(corpus)));
    assert.equal(ids.length, corpus.length);
    for (let i = 0; i < corpus.length; ++i) assert.deepEqual(ids[i], g.ids[i], `#${i} ${JSON.stringify(corpus[i])}`);
    const texts = JSON.parse(tokenize([dir, '--json', '--decode'], JSON.stringify(ids)));
    for (let i = 0; i < corpus.length; ++i) {
      const d = g.decoded[i];
      const expected = typeof d === 'string' ? d + corpus[i] : d.text;
      assert.equal(texts[i], expected, `#${i} decode`);
    }
  });
}

const qwen3Dir = modelsDir('qwen3');
const qwen3Skip = !fs.existsSync(path.join(qwen3Dir, 'tokenizer.json')) && 'npm tokenizer qwen3 not installed';

test('tokenize line mode, --decode and --no-special (qwen3)', { skip: qwen3Skip }, () => {
  const dir = qwen3Dir;
  const g = golden('qwen3');
  const lines = ['Hello, world!', '你好，世界！今天天气很好。我们去公园散步吧。', '<|im_start|>system You are helpful.<|im_end|>'];
  const out = tokenize([dir], lines.join('\n') + '\n').trimEnd().split('\n');
  assert.equal(out.length, lines.length);
  assert.deepEqual(out[0].split(' ').map(Number), g.ids[corpus.indexOf('Hello, world! How are you doing today?')].slice(0, 4));
  const decoded = tokenize([dir, '--decode', '--no-special'], out.join('\n') + '\n');
  assert.equal(decoded, ['Hello, world!', lines[1], 'system You are helpful.'].join('\n') + '\n');
});

test('tokenize reports a missing tokenizer', () => {
  const missing = spawnSync(binPath(), ['tokenize', '/nonexistent/tokenizer.json'], { input: 'x\n', encoding: 'utf8' });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /nonexistent/);
});

test('tokenize reports bad input (qwen3)', { skip: qwen3Skip }, () => {
  const dir = qwen3Dir;
  const bad = spawnSync(binPath(), ['tokenize', dir, '--decode'], { input: '12 abc\n', encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /not a token id: abc/);
});
