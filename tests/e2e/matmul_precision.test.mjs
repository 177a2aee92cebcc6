// --matmul-precision: auto sets int8 compute (accuracy_level 4) on the 4-bit MatMulNBits nodes of
// the q4 fixture (on onnx-chat's own kernel where the CPU has AVX-512 VNNI; int8 keeps ONNX
// Runtime's), exact leaves them as exported (inspect --json and /v1/models say which), bad
// values are refused; and an idle server uses no CPU after a request (intra-op spinning stops).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { binPath } from '../lib/paths.mjs';
import { startServer, post, fixtureModel } from '../lib/server.mjs';

const MODEL = 'gemma3n-tiny';
// What the kernel needs of the CPU (Linux).
const flags = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
const VNNI = ['avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni'].every((f) => new RegExp(`\\b${f}\\b`).test(flags));

function inspectQ4(args) {
  const r = spawnSync(binPath(), ['inspect', fixtureModel(MODEL), '--json', ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  const decoder = info.components.find((c) => c.name === 'decoder_model_merged');
  return { info, q4: decoder.variants.find((v) => v.dtype === 'q4').matmul_nbits_4bit };
}

test('auto (the default) loads the 4-bit MatMulNBits nodes with int8 compute; exact as exported', () => {
  const auto = inspectQ4([]);
  assert.equal(auto.info.matmul_precision, 'auto');
  assert.ok(auto.q4.nodes > 0, 'the q4 fixture has 4-bit MatMulNBits nodes');
  assert.deepEqual(auto.q4.accuracy_levels, { 0: auto.q4.nodes }, 'the export leaves accuracy_level unset');
  assert.equal(auto.q4.loads_as, 'int8');
  assert.equal(auto.q4.accuracy_level, 4);
  assert.equal(auto.q4.nodes_changed, auto.q4.nodes);
  assert.equal(auto.q4.kernel, VNNI ? 'onnx-chat avx512-vnni' : 'onnxruntime');
  assert.equal(inspectQ4(['--matmul-precision', 'int8']).q4.kernel, 'onnxruntime');

  const exact = inspectQ4(['--matmul-precision', 'exact']);
  assert.equal(exact.q4.loads_as, 'exact');
  assert.equal(exact.q4.accuracy_level, null);
  assert.equal(exact.q4.nodes_changed, 0);
  assert.equal(exact.q4.kernel, 'onnxruntime');

  const env = spawnSync(binPath(), ['inspect', fixtureModel(MODEL), '--json'], {
    encoding: 'utf8', env: { ...process.env, ONNX_CHAT_MATMUL_PRECISION: 'fp32' },
  });
  assert.equal(JSON.parse(env.stdout).matmul_precision, 'fp32', 'the environment variable sets it too');
});

test('a precision that does not exist is refused with the valid ones', () => {
  const r = spawnSync(binPath(), ['inspect', fixtureModel(MODEL), '--matmul-precision', 'int4'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr + r.stdout, /matmul-precision/);
  assert.match(r.stderr + r.stdout, /exact/);
});

async function cpuSeconds(pid) {
  // utime + stime of every thread of the process, in clock ticks (fields 14 and 15).
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  return ticks / hz;
}

for (const spin of [false, true]) {
  test(`/v1/models reports the precision; an idle server${spin ? ' with --spin' : ''} uses < 1 % of a core over 10 s after a request`, async () => {
    const env = { ONNX_CHAT_MATMUL_PRECISION: 'auto', ...(spin ? { ONNX_CHAT_SPIN: '1' } : {}) };
    const server = await startServer({ model: fixtureModel(MODEL), env });
    try {
      const models = await (await fetch(`${server.baseURL}/models`)).json();
      const entry = models.data[0];
      assert.equal(entry.matmul_precision, 'auto');
      const decoder = entry.components.find((c) => c.name === 'decoder_model_merged');
      assert.equal(decoder.dtype, 'q4');
      assert.equal(decoder.matmul_precision, 'int8');

      const r = await post(server, '/v1/chat/completions', {
        model: entry.id, messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 8, temperature: 0,
      });
      assert.equal(r.status, 200, r.text);
      const before = await cpuSeconds(server.proc.pid);
      await new Promise((resolve) => setTimeout(resolve, 10000));
      const used = (await cpuSeconds(server.proc.pid)) - before;
      assert.ok(used < 0.1, `idle server used ${used.toFixed(3)} s of CPU in 10 s (limit 0.1 s: 1 % of a core)`);
      assert.match(server.logs(), spin ? /spinning while a run lasts/ : /no spinning/);
    } finally {
      await server.stop();
    }
  });
}

test('the test harness runs servers in exact precision unless a test asks otherwise', async () => {
  const server = await startServer({ model: fixtureModel(MODEL) });
  try {
    const entry = (await (await fetch(`${server.baseURL}/models`)).json()).data[0];
    assert.equal(entry.matmul_precision, 'exact');
    assert.equal(entry.components.find((c) => c.name === 'decoder_model_merged').matmul_precision, 'exact');
  } finally {
    await server.stop();
  }
});
