// Writes tests/e2e/golden/gemmatok_parity.json: the reference runner's (transformers.js) greedy
// token ids for the parity conversations on the gemma3n-gemmatok fixture (fp32 components).
//   node tests/e2e/golden/make_parity_golden.mjs
// The fixture's .stamp is recorded: the parity test recomputes the reference live when it differs.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureFixtures } from '../../lib/fixtures.mjs';
import { loadReference, disposeReference, generateGreedy } from '../../reference/runner.mjs';
import { CONVERSATIONS, MAX_TOKENS } from '../parity_conversations.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(ensureFixtures(['gemma3n-gemmatok']), 'gemma3n-gemmatok');
const ref = await loadReference(dir, { dtype: 'fp32' });
const cases = [];
for (const c of CONVERSATIONS) {
  const t0 = Date.now();
  const r = await generateGreedy(ref, c.messages, { maxNewTokens: MAX_TOKENS });
  cases.push({ name: c.name, promptIds: r.promptIds, generatedIds: r.generatedIds });
  console.error(`${c.name}: ${r.promptIds.length} prompt tokens, ${r.generatedIds.length} generated (${Date.now() - t0} ms)`);
}
await disposeReference(ref);
const out = {
  fixture: 'gemma3n-gemmatok',
  stamp: fs.readFileSync(path.join(dir, '.stamp'), 'utf8').trim(),
  reference: '@huggingface/transformers 4.3.1, fp32, greedy',
  maxTokens: MAX_TOKENS,
  cases,
};
fs.writeFileSync(path.join(here, 'gemmatok_parity.json'), JSON.stringify(out) + '\n');
