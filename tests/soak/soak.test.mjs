// The short soak of CI (tests/soak/soak.mjs; `make soak` runs the long one): about a minute of
// mixed load with random hang-ups on the Gemma-3n fixture. Fails on any 5xx, RSS growth >= 5 %
// after the warm-up, or fds / threads not back to their baseline; prints the summary line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from './soak.mjs';

const SECONDS = Number(process.env.ONNX_CHAT_SOAK_SECONDS ?? 45);

test(`soak: ${SECONDS} s of mixed load with random disconnects`, { timeout: (SECONDS + 180) * 1000 }, async (t) => {
  const report = await runSoak({ seconds: SECONDS, warmup: 15, concurrency: 10, log: (s) => t.diagnostic(s) });
  console.log(report.summary);
  t.diagnostic(report.summary);
  assert.ok(report.requests > 0);
  for (const h of ['queued', 'prefill', 'mid-stream']) assert.ok(report.hangups[h] > 0, `no ${h} hang-up in the mix`);
  assert.deepEqual(report.failures, []);
});
