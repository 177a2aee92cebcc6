// The hub layer with the real fixture model (gemma3n-tiny) served by the mock hub: presets pick
// the variants transformers.js would load, the pulled snapshot (symlinks into blobs, external data
// beside the .onnx) loads in ONNX Runtime, and `serve --model REPO_ID` answers a chat request. The
// Gemma 4 fixture (gemma4-tiny) pulls with a preset and generates from the cache with an image.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import ort from 'onnxruntime-node';
import { binPath } from '../lib/paths.mjs';
import sharp from 'sharp';
import { ensureFixtures, testImage, testTone } from '../lib/fixtures.mjs';
import { startMockHub, tempDir, hubEnv, runCli } from '../lib/mockhub.mjs';

const REPO = 'onnx-community/gemma3n-tiny-ONNX';
const REPO4 = 'onnx-community/gemma4-tiny-ONNX';
let hub, fixture;

before(async () => {
  const root = ensureFixtures(['gemma3n-tiny', 'gemma4-tiny']);
  fixture = path.join(root, 'gemma3n-tiny');
  hub = await startMockHub({ [REPO]: fixture, [REPO4]: path.join(root, 'gemma4-tiny') });
});
after(async () => { await hub?.stop(); });

describe('fixture model from the hub', () => {
  test('Q4_MIXED with every modality picks quantized embed, q4 decoder, fp16 vision, quantized audio; sessions load', async () => {
    const home = tempDir('oc-hub-fx-');
    const r = await runCli(['pull', `${REPO}/Q4_MIXED`, '--modalities', 'all', '--json'], hubEnv(home, hub.url));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const chosen = Object.fromEntries(out.components.map((c) => [c.role, c.dtype]));
    assert.deepEqual(chosen, { embed: 'quantized', decoder: 'q4', vision: 'fp16', audio: 'quantized' });
    for (const f of ['config.json', 'tokenizer.json', 'chat_template.jinja', 'preprocessor_config.json', 'processor_config.json'])
      assert.ok(out.files.includes(f), f);
    for (const c of out.components) {
      const s = await ort.InferenceSession.create(c.onnx);
      assert.ok(s.inputNames.length > 0);
      await s.release?.();
    }
  });

  test('FP32 brings the external data, and ONNX Runtime finds it through the snapshot links', async () => {
    const home = tempDir('oc-hub-fx-');
    const r = await runCli(['pull', `${REPO}/FP32`, '--json'], hubEnv(home, hub.url));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const decoder = out.components.find((c) => c.role === 'decoder');
    assert.deepEqual(decoder.data.map((d) => path.basename(d)), ['decoder_model_merged.onnx_data']);
    assert.ok(fs.lstatSync(decoder.data[0]).isSymbolicLink());
    const s = await ort.InferenceSession.create(decoder.onnx);
    assert.ok(s.outputNames.includes('logits'));
    const sizeOf = (rel) => fs.statSync(path.join(fixture, rel)).size;
    assert.equal(out.size_bytes, out.files.reduce((n, f) => n + sizeOf(f), 0));
  });
});

describe('Gemma 4 fixture from the hub', () => {
  test('Q4_MIXED picks quantized embed and q4 decoder (fp32 encoders, the only ones), then the snapshot generates offline with an image', async () => {
    const home = tempDir('oc-hub-g4-');
    const r = await runCli(['pull', `${REPO4}/Q4_MIXED`, '--modalities', 'all', '--json'], hubEnv(home, hub.url));
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    const chosen = Object.fromEntries(out.components.map((c) => [c.role, c.dtype]));
    assert.deepEqual(chosen, { embed: 'quantized', decoder: 'q4', vision: 'fp32', audio: 'fp32' });
    assert.ok(out.files.includes('processor_config.json'), 'processor_config.json (the Gemma 4 processor settings)');
    const img = testImage(1, 96, 64);
    const png = path.join(home, 'img.png');
    await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toFile(png);
    const spec = path.join(home, 'messages.json');
    fs.writeFileSync(spec, JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] }], images: [png] }));
    const g = await runCli(['generate', '--model', out.folder, '--messages', spec, '--max-tokens', '3', '--json', '--log-level', 'error'],
      hubEnv(home, hub.url, { HF_HUB_OFFLINE: '1' }));
    assert.equal(g.code, 0, g.stderr);
    const result = JSON.parse(g.stdout.trim().split('\n').at(-1));
    assert.ok(result.usage.image_tokens > 0 && result.ids.length > 0, JSON.stringify(result.usage));
  });
});

// Whether the binary has a `serve` subcommand (listed in the top-level help).
function serveExists() {
  const r = spawnSync(binPath(), ['--help'], { encoding: 'utf8' });
  return r.status === 0 && /^\s+serve\s/m.test(r.stdout);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const SERVE_SKIP = serveExists() ? false : '`onnx-chat serve` does not exist yet (branch engine); merge it to enable';

describe('serve from a repo id', { skip: SERVE_SKIP }, () => {
  test('serve --model REPO_ID downloads, reports /ready, and answers a chat request', async () => {
    const home = tempDir('oc-hub-serve-');
    const port = await freePort();
    await hub.reset();
    await hub.control({ slow_bps: 2_000_000 });  // long enough to see the download
    const child = spawn(binPath(), ['serve', '--model', `${REPO}/Q4_MIXED`, '--host', '127.0.0.1', '--port', String(port)],
      { env: hubEnv(home, hub.url, { ONNX_CHAT_LOG_LEVEL: 'info' }), stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stdout.on('data', (d) => { logs += d; });
    child.stderr.on('data', (d) => { logs += d; });
    const base = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + 120000;
      let ready = false;
      const seen = new Set();
      const loading = [];
      while (!ready && Date.now() < deadline) {
        if (child.exitCode !== null) assert.fail(`serve exited (${child.exitCode}):\n${logs}`);
        try {
          const r = await fetch(base + '/ready');
          seen.add(r.status);
          ready = r.status === 200;
          if (!ready) loading.push(await r.json());
        } catch { /* not listening yet */ }
        if (!ready) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ready, `never ready:\n${logs}`);
      // The download is throttled: /ready answered 503 while it ran, then 200.
      assert.ok(seen.has(503), `/ready never answered 503 while downloading (statuses seen: ${[...seen]})`);
      const readyBody = await (await fetch(base + '/ready')).json();
      assert.equal(readyBody.status, 'ready');
      assert.deepEqual(readyBody.modalities, { image: { supported: true, loaded: false }, audio: { supported: true, loaded: false } });
      // While it downloads, /ready says so with the progress; the terminal draws it too.
      const dl = loading.find((b) => b.phase === 'downloading' && b.download?.total_bytes > 0);
      assert.ok(dl, JSON.stringify(loading.slice(0, 3)));
      assert.equal(dl.status, 'loading');
      assert.equal(dl.error.type, 'server_error');
      assert.equal(dl.model, `${REPO}/Q4_MIXED`);
      assert.ok(dl.download.done_bytes <= dl.download.total_bytes && dl.download.files_total > 0);
      assert.match(logs, /downloading|fetched/i);
      assert.match(logs, /the image and audio encoders load on first use/);
      const models = await (await fetch(base + '/v1/models')).json();
      assert.ok(JSON.stringify(models).includes('gemma3n-tiny'), JSON.stringify(models));
      const chat = await fetch(base + '/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: REPO, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4, temperature: 0 }),
      });
      assert.equal(chat.status, 200, await chat.clone().text());
      const body = await chat.json();
      assert.equal(body.choices[0].message.role, 'assistant');
      assert.equal(typeof body.choices[0].message.content, 'string');
      assert.ok(body.usage.completion_tokens >= 1);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    }
  });
});

describe('first run', { skip: SERVE_SKIP }, () => {
  test('serving a hub model without flags fetches every modality: an image and audio work', async () => {
    const home = tempDir('oc-hub-first-');
    const port = await freePort();
    const child = spawn(binPath(), ['serve', '--model', REPO, '--host', '127.0.0.1', '--port', String(port)],
      { env: hubEnv(home, hub.url), stdio: ['ignore', 'pipe', 'pipe'] });
    let logs = '';
    child.stderr.on('data', (d) => { logs += d; });
    const base = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + 120000;
      for (;;) {
        if (child.exitCode !== null) assert.fail(`serve exited (${child.exitCode}):\n${logs}`);
        const r = await fetch(base + '/ready').catch(() => null);
        if (r?.status === 200) break;
        assert.ok(Date.now() < deadline, `never ready:\n${logs}`);
        await new Promise((res) => setTimeout(res, 100));
      }
      const img = testImage(0);
      const png = await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
      const tone = testTone(440, 0.5);
      const wav = Buffer.alloc(44 + tone.length * 2);
      wav.write('RIFF', 0); wav.writeUInt32LE(36 + tone.length * 2, 4); wav.write('WAVEfmt ', 8); wav.writeUInt32LE(16, 16);
      wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22); wav.writeUInt32LE(16000, 24); wav.writeUInt32LE(32000, 28);
      wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34); wav.write('data', 36); wav.writeUInt32LE(tone.length * 2, 40);
      tone.forEach((v, i) => wav.writeInt16LE(Math.round(v * 32767), 44 + i * 2));
      const content = [
        { type: 'text', text: 'Describe this image and this sound.' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
        { type: 'input_audio', input_audio: { data: wav.toString('base64'), format: 'wav' } },
      ];
      const chat = await fetch(base + '/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: REPO, messages: [{ role: 'user', content }], max_tokens: 4 }),
      });
      assert.equal(chat.status, 200, await chat.clone().text());
      const models = await (await fetch(base + '/v1/models')).json();
      assert.equal(models.data[0].modalities.image.supported, true);
      assert.equal(models.data[0].modalities.audio.supported, true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    }
  });

  test('with --modalities text an image is refused with how to enable it', async () => {
    const home = tempDir('oc-hub-text-');
    const port = await freePort();
    const child = spawn(binPath(), ['serve', '--model', REPO, '--modalities', 'text', '--host', '127.0.0.1', '--port', String(port)],
      { env: hubEnv(home, hub.url), stdio: ['ignore', 'ignore', 'pipe'] });
    const base = `http://127.0.0.1:${port}`;
    try {
      const deadline = Date.now() + 120000;
      while ((await fetch(base + '/ready').catch(() => null))?.status !== 200) {
        assert.ok(Date.now() < deadline && child.exitCode === null, 'never ready');
        await new Promise((res) => setTimeout(res, 100));
      }
      const r = await fetch(base + '/v1/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: REPO, max_tokens: 2, messages: [{ role: 'user', content: [
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] }] }),
      });
      const body = await r.json();
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(body.error.code, 'unsupported_modality');
      assert.match(body.error.message, /does not take image input.*--modalities image \(or all, the default\)/);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    }
  });

  test('serve without a model says what to do and exits non-zero', () => {
    const env = { ...process.env };
    delete env.ONNX_CHAT_MODEL;
    const r = spawnSync(binPath(), ['serve', '--port', '0'], { encoding: 'utf8', env, timeout: 10000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no model given: pass --model .*onnx-community\/gemma-3n-E2B-it-ONNX/);
  });
});
