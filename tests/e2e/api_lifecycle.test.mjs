// Client disconnects free the slot at once; SIGTERM/SIGINT shut the server down gracefully; the
// port, the queue limit, slow clients and the memory allocator.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import net from 'node:net';
import { startServer, post, metric, freePort } from '../lib/server.mjs';
import { binPath } from '../lib/paths.mjs';

const MODEL = 'gemma3n-tiny';
const NO_EOS = { 1: -100, 106: -100 };
// Long enough that it cannot finish during the test (the tiny fixture's context is far larger).
const LONG = { model: MODEL, messages: [{ role: 'user', content: 'Go on forever.' }], max_tokens: 20000, logit_bias: NO_EOS };

async function waitFor(fn, timeoutMs, stepMs = 20) {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) return null;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

async function readSomeChunks(response, n) {
  const reader = response.body.getReader();
  let text = '';
  const dec = new TextDecoder();
  while ((text.match(/data: /g) ?? []).length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
  }
  return reader;
}

describe('client disconnect', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--parallel', '1'] });
  });
  after(async () => {
    const r = await server?.stop();
    assert.equal(r?.code, 0, server?.logs());
  });

  test('a client that drops mid-stream frees its slot within 1 second', async () => {
    const ac = new AbortController();
    const res = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...LONG, stream: true }),
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    await readSomeChunks(res, 5);
    assert.equal(await metric(server, 'onnx_chat_running_requests'), 1, 'the request should be generating');
    ac.abort();
    const t0 = Date.now();
    const ms = await waitFor(async () => (await metric(server, 'onnx_chat_running_requests')) === 0, 3000);
    assert.ok(ms !== null && Date.now() - t0 < 1000, `slot not freed within 1 s (${ms} ms)`);
    // With one slot, a follow-up request starts at once.
    const t1 = Date.now();
    const r = await post(server, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t1 < 2000);
    assert.ok((await metric(server, 'onnx_chat_client_disconnects_total')) >= 1);
  });

  test('a non-streaming client that drops frees its slot within 1 second', async () => {
    const ac = new AbortController();
    const pending = fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(LONG),
      signal: ac.signal,
    }).catch(() => null);
    const started = await waitFor(async () => (await metric(server, 'onnx_chat_running_requests')) === 1, 5000);
    assert.ok(started !== null, 'request never started');
    ac.abort();
    await pending;
    const t0 = Date.now();
    const ms = await waitFor(async () => (await metric(server, 'onnx_chat_running_requests')) === 0, 3000);
    assert.ok(ms !== null && Date.now() - t0 < 1000, `slot not freed within 1 s (${ms} ms)`);
  });
});

describe('graceful shutdown', () => {
  test('SIGTERM lets a short in-flight request finish, then exits 0', async () => {
    const server = await startServer();
    const pending = post(server, '/v1/chat/completions', {
      model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 30, logit_bias: NO_EOS,
    });
    await waitFor(async () => (await metric(server, 'onnx_chat_running_requests')) === 1, 5000, 5);
    const exit = server.stop('SIGTERM');
    const r = await pending;
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.usage.completion_tokens, 30);
    const { code } = await exit;
    assert.equal(code, 0, server.logs());
  });

  test('SIGINT cancels a long stream after --shutdown-timeout and exits 0', async () => {
    const server = await startServer({ args: ['--shutdown-timeout', '1'] });
    const res = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...LONG, stream: true }),
    });
    const reader = await readSomeChunks(res, 3);
    const t0 = Date.now();
    const exit = server.stop('SIGINT');
    let rest = '';
    const dec = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ done: true }));
      if (done) break;
      rest += dec.decode(value);
    }
    const { code } = await exit;
    assert.equal(code, 0, server.logs());
    assert.ok(Date.now() - t0 < 10000, 'shutdown took too long');
    assert.match(rest, /"code":"cancelled"/, 'the stream should end with a cancellation error event');
    // New connections are refused after shutdown.
    await assert.rejects(fetch(`${server.url}/health`));
  });
});

describe('second signal', () => {
  test('a second SIGTERM cancels in-flight requests at once', async () => {
    const server = await startServer({ args: ['--shutdown-timeout', '60'] });
    const res = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...LONG, stream: true }),
    });
    const reader = await readSomeChunks(res, 3);
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    const exit = server.stop('SIGTERM');
    while (!(await reader.read().catch(() => ({ done: true }))).done) {
      // drain
    }
    const { code } = await exit;
    assert.equal(code, 0, server.logs());
    assert.ok(Date.now() - t0 < 10000, `took ${Date.now() - t0} ms`);
    assert.match(server.logs(), /second signal/);
  });
});

describe('port', () => {
  test('COMFYAI_ONNX_PORT sets the port', async () => {
    const want = await freePort();
    const server = await startServer({ port: null, env: { COMFYAI_ONNX_PORT: String(want) } });
    try {
      assert.equal(server.port, want);
      assert.equal((await fetch(`http://127.0.0.1:${want}/health`)).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('the default port is 8000 and every serve option names its env var', () => {
    const help = execFileSync(binPath(), ['serve', '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    assert.match(help, /--port INT=8000 \(Env:COMFYAI_ONNX_PORT\)/);
    for (const env of ['COMFYAI_ONNX_PORT', 'ONNX_CHAT_API_KEY', 'ONNX_CHAT_CORS_ORIGINS', 'ONNX_CHAT_MAX_BODY_BYTES',
      'ONNX_CHAT_QUEUE_SIZE', 'ONNX_CHAT_SHUTDOWN_TIMEOUT']) {
      assert.ok(help.includes(env), `${env} missing from serve --help`);
    }
  });
});

describe('memory allocator', () => {
  test('the binary runs on jemalloc with the server settings of app/allocator_config.cpp', async () => {
    // stats_print makes jemalloc print its options at exit; MALLOC_CONF adds to the built-in ones.
    const r = spawnSync(binPath(), ['--version'], { encoding: 'utf8', env: { PATH: process.env.PATH, MALLOC_CONF: 'stats_print:true' } });
    const stats = r.stdout + r.stderr;
    for (const line of ['opt.narenas: 4', 'opt.tcache: false', 'opt.background_thread: true', 'opt.dirty_decay_ms: 1000', 'opt.muzzy_decay_ms: 0']) {
      assert.ok(stats.includes(line), `jemalloc option missing: ${line}`);
    }
    const server = await startServer({ ready: false });
    try {
      assert.match(server.logs(), /memory allocator: jemalloc/);
    } finally {
      await server.stop();
    }
  });
});

describe('queue limit', () => {
  test('a full queue answers 429 with Retry-After, and serving resumes', async () => {
    const server = await startServer({ args: ['--parallel', '1', '--queue-size', '1'] });
    try {
      const streams = [];
      for (let i = 0; i < 2; ++i) {
        const ac = new AbortController();
        const res = await fetch(`${server.baseURL}/chat/completions`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ ...LONG, stream: true }),
          signal: ac.signal,
        });
        assert.equal(res.status, 200);
        streams.push({ ac, res });
      }
      const ok = await waitFor(async () => (await metric(server, 'onnx_chat_queue_depth')) === 1, 5000);
      assert.ok(ok !== null, 'second request not queued');
      const r = await post(server, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(r.status, 429, r.text);
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
      assert.equal(r.json.error.type, 'rate_limit_error');
      for (const s of streams) s.ac.abort();
      const freed = await waitFor(async () => (await metric(server, 'onnx_chat_running_requests')) === 0
        && (await metric(server, 'onnx_chat_queue_depth')) === 0, 3000);
      assert.ok(freed !== null);
      const again = await post(server, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      assert.equal(again.status, 200, again.text);
    } finally {
      const { code } = await server.stop();
      assert.equal(code, 0);
    }
  });
});

describe('slow clients', () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  // The soak once lost a request this way: its client, on a loaded machine, connected and sent the
  // request 2.0 s later, after the server had closed the connection.
  test('a request sent 3 s after connecting is answered', async () => {
    const sock = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    let reply = '';
    sock.on('data', (d) => { reply += d; });
    const closed = new Promise((resolve) => sock.once('close', resolve));
    await new Promise((r) => setTimeout(r, 3000));
    sock.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    for (let i = 0; i < 100 && !/\r\n\r\n[^]*\}/.test(reply); ++i) await new Promise((r) => setTimeout(r, 20));
    const first = reply;
    // The connection stays open: a second request on it, which asks to close.
    sock.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await closed;
    assert.match(first, /^HTTP\/1\.1 200 /, `reply: ${JSON.stringify(first.slice(0, 200))}`);
    // The hint clients get is 2 s, once, whatever the server's own idle limit.
    assert.equal(first.match(/\r\nKeep-Alive: /gi)?.length, 1, first);
    assert.match(first, /\r\nKeep-Alive: timeout=2\r\n/i);
    const second = reply.slice(first.length);
    assert.match(second, /^HTTP\/1\.1 200 /, `reply: ${JSON.stringify(second.slice(0, 200))}`);
    assert.match(second, /\r\nConnection: close\r\n/i);
    assert.doesNotMatch(second, /\r\nKeep-Alive:/i);
  });

  // The library listens with a backlog of 5: bursts of new connections overflowed it, and each
  // dropped SYN cost its client a 1 s retransmission (seen as a 1 s time to first token at 8 and
  // 16 streams in make bench-concurrency). The server raises it; ss shows a listener's backlog.
  test('the listening socket takes a burst of connections (backlog >= 128)', (t) => {
    let out;
    try {
      out = execFileSync('ss', ['-ltnH', `sport = :${server.port}`], { encoding: 'utf8' });
    } catch {
      t.skip('ss (iproute2) is not installed');
      return;
    }
    const backlog = Number(out.trim().split(/\s+/)[2]);
    assert.ok(backlog >= 128, `backlog ${backlog}: ${out}`);
  });
});
