// /metrics and the request log on the tiny Gemma-3n fixture: per-modality encoder-time
// histograms, the inter-token latency histogram, token counters and errors by code after real
// requests; one log line per request (JSON with --log-format json, key=value in text) carrying
// its id, route, status, tokens and timings.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, post } from '../lib/server.mjs';
import { testImage, testTone } from '../lib/fixtures.mjs';
import { encodeBmp } from '../lib/media.mjs';

const MODEL = 'gemma3n-tiny';

function wav16(samples) {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples.length * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(16000, 24);
  b.writeUInt32LE(32000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; ++i) b.writeInt16LE(Math.round(samples[i] * 32767), 44 + 2 * i);
  return b;
}

const image = () => {
  const { data, width, height } = testImage(1, 32, 32);
  return `data:image/bmp;base64,${encodeBmp(data, width, height).toString('base64')}`;
};
const audio = () => wav16(testTone(440, 1)).toString('base64');

/** Parses Prometheus text into {name{labels}: value}. */
function samples(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-z_]+(?:\{[^}]*\})?) (\S+)$/);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

async function scrape(server) {
  return samples(await (await fetch(`${server.url}/metrics`)).text());
}

// The JSON request lines in the server's log so far.
function requestLines(server) {
  return server
    .logs()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((j) => j.msg === 'request');
}

async function waitFor(fn, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('metrics and request logs (--log-format json)', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--log-format', 'json', '--encoder-cache-mb', '0'] });
  });
  after(async () => server?.stop());

  test('encoder time per modality, inter-token latency, tokens and errors by code', async () => {
    const m0 = await scrape(server);
    const img = await post(server, '/v1/chat/completions', {
      model: MODEL,
      max_tokens: 6,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: image() } }, { type: 'text', text: 'what?' }] }],
    });
    assert.equal(img.status, 200, img.text);
    const aud = await post(server, '/v1/chat/completions', {
      model: MODEL,
      max_tokens: 6,
      stream: true,
      messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: audio(), format: 'wav' } }] }],
    });
    assert.equal(aud.status, 200, aud.text);
    const bad = await post(server, '/v1/chat/completions', { model: MODEL, messages: [], max_tokens: 2 });
    assert.equal(bad.status, 400);
    const missing = await post(server, '/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(missing.status, 404);

    const m = await scrape(server);
    const d = (k) => (m[k] ?? 0) - (m0[k] ?? 0);
    assert.equal(d('onnx_chat_encode_seconds_count{modality="image"}'), 1);
    assert.equal(d('onnx_chat_encode_seconds_count{modality="audio"}'), 1);
    assert.ok(d('onnx_chat_encode_seconds_sum{modality="image"}') > 0);
    assert.equal(d('onnx_chat_media_segments_total{result="encoded"}'), 2);
    // Every token after the first of a choice gives one gap.
    const completion = img.json.usage.completion_tokens;
    assert.ok(completion >= 2, img.text);
    assert.ok(d('onnx_chat_inter_token_seconds_count') >= completion - 1, JSON.stringify(m));
    assert.equal(d('onnx_chat_time_to_first_token_seconds_count'), 2);
    assert.ok(d('onnx_chat_prompt_tokens_total') >= img.json.usage.prompt_tokens);
    assert.ok(d('onnx_chat_completion_tokens_total') >= completion);
    assert.equal(d('onnx_chat_prompt_media_tokens_total{modality="image"}'), img.json.usage.prompt_tokens_details.image_tokens);
    assert.equal(d('onnx_chat_errors_total{endpoint="chat",status="400",code="empty_array"}'), 1, JSON.stringify(bad.json));
    assert.equal(d('onnx_chat_errors_total{endpoint="chat",status="404",code="model_not_found"}'), 1);
  });

  test('one JSON line per request with id, route, status, tokens and timings', async () => {
    const n0 = requestLines(server).length;
    const r = await post(server, '/v1/chat/completions', { model: MODEL, max_tokens: 4, n: 2, messages: [{ role: 'user', content: 'hi' }] }, { 'X-Request-Id': 'trace-me-1' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-request-id'), 'trace-me-1');
    const s = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'Once', max_tokens: 3, stream: true }),
    });
    await s.text();
    const e = await post(server, '/v1/completions', { model: MODEL, prompt: '' });
    assert.equal(e.status, 400);
    const lines = await waitFor(() => {
      const l = requestLines(server).slice(n0);
      return l.length >= 3 ? l : null;
    });
    assert.ok(lines, `request lines:\n${server.logs()}`);
    const [chat, stream, err] = lines;
    assert.equal(chat.level, 'info');
    assert.match(chat.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(chat.request_id, 'trace-me-1');
    assert.equal(chat.id, r.json.id);
    assert.equal(chat.route, 'chat');
    assert.equal(chat.path, '/v1/chat/completions');
    assert.equal(chat.status, 200);
    assert.equal(chat.n, 2);
    assert.equal(chat.stream, false);
    assert.equal(chat.outcome, 'ok');
    assert.equal(chat.prompt_tokens, r.json.usage.prompt_tokens);
    assert.equal(chat.completion_tokens, r.json.usage.completion_tokens);
    for (const k of ['queue_ms', 'prompt_ms', 'decode_ms', 'ttft_ms', 'total_ms']) assert.equal(typeof chat[k], 'number', k);
    assert.ok(chat.total_ms >= chat.ttft_ms);

    assert.equal(stream.route, 'completions');
    assert.equal(stream.stream, true);
    assert.equal(stream.status, 200);
    assert.match(stream.id, /^cmpl-/);
    assert.ok(stream.completion_tokens > 0);
    assert.match(stream.request_id, /^req-[0-9a-f]{16}$/);

    assert.equal(err.status, 400);
    assert.equal(err.outcome, 'error');
    assert.equal(err.error, 'invalid_value');
    assert.equal(err.prompt_tokens, undefined);
  });

  test('a client that hangs up mid-stream is logged as client_gone', async () => {
    const n0 = requestLines(server).length;
    const ac = new AbortController();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 20000, stream: true, messages: [{ role: 'user', content: 'hi' }], logit_bias: { 1: -100, 106: -100 } }),
      signal: ac.signal,
    });
    const reader = res.body.getReader();
    await reader.read();
    ac.abort();
    const line = await waitFor(() => requestLines(server).slice(n0).find((l) => l.route === 'chat'));
    assert.ok(line, server.logs());
    assert.equal(line.outcome, 'client_gone');
    assert.equal(line.status, 200);
  });

  test('health checks and scrapes are logged at debug level only', async () => {
    await fetch(`${server.url}/health`);
    await fetch(`${server.url}/metrics`);
    assert.equal(requestLines(server).filter((l) => l.route === 'health' || l.route === 'metrics').length, 0);
  });
});

describe('request logs in text format', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--log-level', 'debug'] });
  });
  after(async () => server?.stop());

  test('key=value fields after "request"', async () => {
    const r = await post(server, '/v1/chat/completions', { model: MODEL, max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200);
    await fetch(`${server.url}/health`);
    const line = await waitFor(() => server.logs().split('\n').find((l) => l.includes(`id=${r.json.id}`)));
    assert.ok(line, server.logs());
    assert.match(line, /^\d\d:\d\d:\d\d info +request request_id=req-[0-9a-f]{16} route=chat method=POST path=\/v1\/chat\/completions status=200 /);
    assert.match(line, / prompt_tokens=\d+ completion_tokens=\d+ /);
    assert.match(line, / total_ms=[0-9.]+$/);
    const health = await waitFor(() => server.logs().split('\n').find((l) => / debug request .*route=health/.test(l)));
    assert.ok(health, server.logs());
  });
});
