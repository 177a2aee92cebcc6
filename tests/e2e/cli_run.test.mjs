// `onnx-chat run MODEL`: the terminal chat, driven through a pipe. Replies equal what the HTTP API
// gives for the same conversation (greedy); multi-line input ('\' continuation and """ blocks),
// /reset and /exit work.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { binPath } from '../lib/paths.mjs';
import { startServer, post, fixtureModel } from '../lib/server.mjs';
import { generateJson } from '../lib/generate.mjs';

const MODEL = 'gemma3n-tiny';
let server;

before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

async function greedy(messages) {
  const r = await post(server, '/v1/chat/completions', { model: MODEL, messages, max_tokens: 8, temperature: 0 });
  assert.equal(r.status, 200, r.text);
  return r.json.choices[0].message.content;
}

test('run: multi-line input, /reset, /exit; replies match the API', async () => {
  const input = ['hello', '/reset', 'line one \\', 'line two', '"""', 'block', 'text', '"""', '/exit', 'never read', ''].join('\n');
  const r = spawnSync(binPath(), ['run', fixtureModel(MODEL), '--max-tokens', '8', '--temperature', '0', '--matmul-precision', 'exact',
    '--log-level', 'warn'], {
    input,
    encoding: 'utf8',
    timeout: 60000,
  });
  assert.equal(r.status, 0, r.stderr);

  const reply1 = await greedy([{ role: 'user', content: 'hello' }]);
  const m2 = 'line one \nline two';
  const reply2 = await greedy([{ role: 'user', content: m2 }]);
  const reply3 = await greedy([
    { role: 'user', content: m2 },
    { role: 'assistant', content: reply2 },
    { role: 'user', content: 'block\ntext' },
  ]);
  assert.equal(r.stdout, `${reply1}\n${reply2}\n${reply3}\n`);
});

test('run: --system prompt', () => {
  const r = spawnSync(binPath(), ['run', fixtureModel(MODEL), '--max-tokens', '2', '--log-level', 'warn', '--system', 'Be brief.'], {
    input: 'hi\n',
    encoding: 'utf8',
    timeout: 60000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.length > 0);
});

test('run: a missing model folder fails with a message', () => {
  const r = spawnSync(binPath(), ['run', '/nonexistent/model'], { input: '', encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /model folder not found/);
});

test('run: /image and /audio attach media to the next message, as generate does', async () => {
  const { encodeBmp, testPattern, sox } = await import('../lib/media.mjs');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-run-media-'));
  try {
    const img = path.join(dir, 'p.bmp');
    fs.writeFileSync(img, encodeBmp(testPattern(96, 64, 3, 5), 96, 64));
    const clip = path.join(dir, 'c.wav');
    sox(['-n', '-r', '16000', '-c', '1', '-b', '16', clip, 'synth', '1', 'sine', '500']);
    const input = [`/image ${img}`, 'What is this?', '/image missing-file.png', `/audio ${clip}`, 'And this?', ''].join('\n');
    const r = spawnSync(binPath(), ['run', fixtureModel(MODEL), '--max-tokens', '6', '--temperature', '0', '--matmul-precision', 'exact',
      '--log-level', 'warn'], {
      input,
      encoding: 'utf8',
      timeout: 60000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /cannot read missing-file\.png/);
    // The same conversation through `generate`: its replies appear in the terminal output.
    const turn1 = { role: 'user', content: [{ type: 'image' }, { type: 'text', text: 'What is this?' }] };
    const generate = (spec) =>
      generateJson({ model: fixtureModel(MODEL), file: path.join(dir, 'm.json'), spec, maxTokens: 6, timeoutMs: 60000 }).text;
    const reply1 = generate({ messages: [turn1], images: [img] });
    const reply2 = generate({
      messages: [turn1, { role: 'assistant', content: reply1 },
        { role: 'user', content: [{ type: 'audio' }, { type: 'text', text: 'And this?' }] }],
      images: [img],
      audio: [clip],
    });
    assert.ok(r.stdout.includes(reply1), `first reply ${JSON.stringify(reply1)} in ${JSON.stringify(r.stdout)}`);
    assert.ok(r.stdout.includes(reply2), `second reply ${JSON.stringify(reply2)}`);
    assert.match(r.stdout, /attached image/);
    assert.match(r.stdout, /attached audio/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
