// Engine-level reference parity: `onnx-chat generate --json` (template, tokenizer, gemma3n family,
// engine, greedy sampler) produces the same prompt ids and the same greedy ids as transformers.js
// generate() on the fixture models, for a set of conversations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateJson } from '../lib/generate.mjs';
import { ensureFixtures } from '../lib/fixtures.mjs';
import { loadReference, disposeReference, generateGreedy } from '../reference/runner.mjs';

const MAX_NEW = 24;
const CONVERSATIONS = [
  [{ role: 'user', content: 'Hello!' }],
  [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Hello there, how are you?' },
  ],
  [
    { role: 'user', content: 'What is the capital of France?' },
    { role: 'assistant', content: 'Paris.' },
    { role: 'user', content: 'And of Italy?' },
  ],
  [{ role: 'user', content: 'Écris un poème sur la mer, avec des accents: é è ê à ç. 日本語も少し。 🌊🐚' }],
  [{ role: 'user', content: 'def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\n\nExplain this code.' }],
  [{ role: 'user', content: '  leading and trailing spaces are trimmed by the template   ' }],
  [{ role: 'user', content: 'Numbers: 3.14159 2718 1,000,000 and symbols #@$%^&*()[]{}' }],
  [{ role: 'user', content: 'A user typing <end_of_turn> and <start_of_turn>model inside the text.' }],
  [
    { role: 'system', content: 'Answer in JSON.' },
    { role: 'user', content: 'List three colors.' },
    { role: 'assistant', content: '{"colors": ["red", "green", "blue"]}' },
    { role: 'user', content: 'Three more, please.' },
  ],
  [{ role: 'user', content: 'word '.repeat(150).trim() }],
];

const CASES = [
  // fixture, onnx-chat preset, reference dtypes (the same files), conversations to run
  { fixture: 'gemma3n-gemmatok', preset: 'Q4_MIXED', dtype: 'decoder_model_merged=q4,embed_tokens=quantized', count: 10 },
  { fixture: 'gemma3n-tiny', preset: 'FP32', dtype: 'fp32', count: 4 },
];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-parity-'));
let root;
before(() => {
  root = ensureFixtures(CASES.map((c) => c.fixture));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

for (const c of CASES) {
  test(`greedy ids equal transformers.js on ${c.fixture} (${c.preset})`, async () => {
    const dir = path.join(root, c.fixture);
    const ref = await loadReference(dir, { dtype: c.dtype });
    try {
      for (const [i, messages] of CONVERSATIONS.slice(0, c.count).entries()) {
        const want = await generateGreedy(ref, messages, { maxNewTokens: MAX_NEW });
        const file = path.join(tmp, `m${i}.json`);
        const got = generateJson({ model: dir, preset: c.preset, file, spec: messages, maxTokens: MAX_NEW });
        assert.equal(got.prompt, want.prompt, `conversation ${i}: rendered prompt`);
        assert.deepEqual(got.prompt_ids, want.promptIds, `conversation ${i}: prompt ids`);
        assert.deepEqual(got.ids, want.generatedIds, `conversation ${i}: generated ids`);
        assert.equal(got.text, want.text, `conversation ${i}: text`);
        assert.equal(got.finish_reason, want.generatedIds.length < MAX_NEW ? 'stop' : 'length');
      }
    } finally {
      await disposeReference(ref);
    }
  });
}
