// The short soak of CI (tests/soak/soak.mjs; `make soak` runs the long one): about a minute of
// mixed load with random hang-ups on the Gemma-3n fixture; prints the summary line. Any 5xx, or
// fds / threads not back to their baseline, fail. RSS growth of 5 % or more after the warm-up is
// reported as a TODO: ONNX Runtime's CPU memory arena keeps (and overshoots) its high-water mark,
// so idle RSS steps up when the load reaches a new peak (docs/DEPLOY.md, "Soak test").
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { runSoak } from './soak.mjs';

const SECONDS = Number(process.env.ONNX_CHAT_SOAK_SECONDS ?? 45);
let report;

before(async () => {
  report = await runSoak({ seconds: SECONDS, warmup: 15, concurrency: 10, log: (s) => console.log(`# ${s}`) });
  console.log(report.summary);
}, { timeout: (SECONDS + 240) * 1000 });

test(`soak: ${SECONDS} s of mixed load with random disconnects: no 5xx, fds and threads back to baseline`, () => {
  assert.ok(report.requests > 0);
  for (const h of ['queued', 'prefill', 'mid-stream']) assert.ok(report.hangups[h] > 0, `no ${h} hang-up in the mix`);
  assert.deepEqual(report.failures.filter((f) => !f.startsWith('RSS grew')), [], report.summary);
});

test('soak: RSS growth after the warm-up < 5 %', { todo: "ONNX Runtime's CPU arena keeps its high-water mark" }, () => {
  assert.ok(report.rss_mb.growth_pct < 5, report.summary);
});
