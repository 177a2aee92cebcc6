// The short soak of CI (tests/soak/soak.mjs; `make soak` runs the long one): a minute of warm-up,
// then 45 s of mixed load with random hang-ups on the Gemma-3n fixture; prints the summary line.
// Any 5xx, fds / threads not back to their baseline, or RSS growth of 5 % or more after the
// warm-up (beyond what the prefix cache added) fail (docs/DEPLOY.md, "Soak test").
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from './soak.mjs';

const SECONDS = Number(process.env.ONNX_CHAT_SOAK_SECONDS ?? 45);
// Long enough for the prefix and encoder caches to fill: their growth is not a leak.
const WARMUP = Number(process.env.ONNX_CHAT_SOAK_WARMUP ?? 60);
let report;

before(async () => {
  report = await runSoak({ seconds: SECONDS, warmup: WARMUP, concurrency: 10, log: (s) => console.log(`# ${s}`) });
  console.log(report.summary);
}, { timeout: (WARMUP + SECONDS + 240) * 1000 });

test(`soak: ${SECONDS} s of mixed load with random disconnects: no 5xx, fds and threads back to baseline`, () => {
  assert.ok(report.requests > 0);
  for (const h of ['queued', 'prefill', 'mid-stream']) assert.ok(report.hangups[h] > 0, `no ${h} hang-up in the mix`);
  assert.deepEqual(report.failures.filter((f) => !f.startsWith('RSS grew')), [], report.summary);
});

test('soak: RSS growth after the warm-up < 5 %', () => {
  assert.ok(report.rss_mb.growth_pct < 5, report.summary);
});
