// Reference parity: on the Gemma-3n fixture with the real Gemma tokenizer, greedy generation of 32
// tokens through the HTTP API yields exactly the token ids transformers.js generates from the same
// messages. Reference ids: tests/e2e/golden/gemmatok_parity.json (written by
// golden/make_parity_golden.mjs with the reference runner); when the fixture's stamp differs from
// the golden file's, the reference is recomputed live.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, post, fixtureModel } from '../lib/server.mjs';
import { CONVERSATIONS, MAX_TOKENS } from './parity_conversations.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = 'gemma3n-gemmatok';
let server;
let reference;

async function loadReferenceIds(dir) {
  const golden = JSON.parse(fs.readFileSync(path.join(here, 'golden', 'gemmatok_parity.json'), 'utf8'));
  const stamp = fs.readFileSync(path.join(dir, '.stamp'), 'utf8').trim();
  const sameCases = JSON.stringify(golden.cases.map((c) => c.name)) === JSON.stringify(CONVERSATIONS.map((c) => c.name));
  if (golden.stamp === stamp && golden.maxTokens === MAX_TOKENS && sameCases) return golden.cases;
  console.error('parity: fixture or conversations changed since the golden file; running the reference live');
  const { loadReference, disposeReference, generateGreedy } = await import('../reference/runner.mjs');
  const ref = await loadReference(dir, { dtype: 'fp32' });
  const cases = [];
  for (const c of CONVERSATIONS) {
    const r = await generateGreedy(ref, c.messages, { maxNewTokens: MAX_TOKENS });
    cases.push({ name: c.name, promptIds: r.promptIds, generatedIds: r.generatedIds });
  }
  await disposeReference(ref);
  return cases;
}

before(async () => {
  const dir = fixtureModel(FIXTURE);
  reference = await loadReferenceIds(dir);
  server = await startServer({ model: dir, args: ['--preset', 'FP32'] });
});

after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, server?.logs());
});

test('at least 10 conversations, one of them ~1,000 prompt tokens', () => {
  assert.ok(CONVERSATIONS.length >= 10);
  assert.ok(reference.some((c) => c.promptIds.length >= 900), 'no long prompt');
});

for (const [i, conv] of CONVERSATIONS.entries()) {
  test(`greedy ids equal the reference: ${conv.name}`, async () => {
    const want = reference[i];
    const r = await post(server, '/v1/chat/completions', {
      model: FIXTURE,
      messages: conv.messages,
      max_tokens: MAX_TOKENS,
      temperature: 0,
      return_token_ids: true,
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.prompt_token_ids, want.promptIds, 'prompt ids differ from the reference');
    assert.deepEqual(r.json.choices[0].token_ids, want.generatedIds, 'generated ids differ from the reference');
    assert.equal(r.json.usage.prompt_tokens, want.promptIds.length);
  });
}
