// The official `openai` npm SDK against the server on the tiny Gemma-3n fixture: chat create and
// stream, completions, models; streamed text equals non-streamed text for the same seed.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, post, parseSSE } from '../lib/server.mjs';

let server;
let client;
const MODEL = 'gemma3n-tiny';
const NO_EOS = { 1: -100, 106: -100 }; // keeps generations at their max_tokens length

before(async () => {
  server = await startServer();
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'not-needed', maxRetries: 0 });
});

after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, `server exit: ${JSON.stringify(r)}\n${server?.logs()}`);
});

describe('health and models', () => {
  test('/health and /ready answer 200', async () => {
    const h = await fetch(`${server.url}/health`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
    const r = await fetch(`${server.url}/ready`);
    assert.equal(r.status, 200);
    assert.equal((await r.json()).status, 'ready');
  });

  test('models.list names the model and its preset', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes(MODEL), ids.join(','));
    assert.ok(ids.some((id) => id.toLowerCase() === `${MODEL}/q4_mixed`), ids.join(','));
  });

  test('models.retrieve is case-insensitive and accepts the repo-style name', async () => {
    assert.equal((await client.models.retrieve('GEMMA3N-TINY')).object, 'model');
    assert.equal((await client.models.retrieve('onnx-community/gemma3n-tiny/Q4_MIXED')).object, 'model');
    await assert.rejects(client.models.retrieve('no-such-model'), (e) => e.status === 404);
  });

  test('/metrics is Prometheus text', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^onnx_chat_running_requests \d+$/m);
    assert.match(text, /^onnx_chat_queue_depth \d+$/m);
  });
});

describe('chat completions', () => {
  const messages = [
    { role: 'system', content: 'You are brief.' },
    { role: 'user', content: 'Say something about lighthouses.' },
  ];

  test('create returns a message, usage and timings', async () => {
    const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 12, seed: 1 });
    assert.equal(r.object, 'chat.completion');
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.choices.length, 1);
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.equal(typeof r.choices[0].message.content, 'string');
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    assert.ok(r.usage.prompt_tokens > 0);
    assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 12);
    assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
    assert.equal(typeof r.timings.prompt_ms, 'number');
    assert.equal(typeof r.timings.decode_tokens_per_second, 'number');
  });

  test('stream: role chunk, content deltas, finish chunk, usage; text equals non-streamed for the same seed', async () => {
    const params = { model: MODEL, messages, max_tokens: 24, seed: 1234, temperature: 1.0 };
    const full = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, full.choices[0].message.content);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    assert.equal(finish.length, 1);
    assert.equal(finish[0].choices[0].finish_reason, full.choices[0].finish_reason);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, full.usage);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
  });

  test('SSE wire format ends with [DONE]', async () => {
    const r = await post(server, '/v1/chat/completions', { model: MODEL, messages, max_tokens: 4, stream: true });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    const events = parseSSE(r.text);
    assert.equal(events.at(-1), '[DONE]');
    assert.equal(events[0].object, 'chat.completion.chunk');
  });

  test('greedy (temperature 0) is deterministic', async () => {
    const p = { model: MODEL, messages, max_tokens: 16, temperature: 0 };
    const a = await client.chat.completions.create(p);
    const b = await client.chat.completions.create(p);
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  });

  test('n=2 gives two choices; max_tokens gives finish_reason length', async () => {
    const r = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 5, n: 2, seed: 3, logit_bias: NO_EOS });
    assert.equal(r.choices.length, 2);
    assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
    for (const c of r.choices) assert.equal(c.finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 10);
  });

  test('logprobs and return_token_ids', async () => {
    const r = await client.chat.completions.create({
      model: MODEL, messages, max_tokens: 6, logprobs: true, top_logprobs: 2, logit_bias: NO_EOS, return_token_ids: true,
    });
    const c = r.choices[0];
    assert.equal(c.logprobs.content.length, 6);
    for (const t of c.logprobs.content) {
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 2);
    }
    assert.equal(c.token_ids.length, 6);
    assert.equal(r.prompt_token_ids.length, r.usage.prompt_tokens);
  });

  test('model names: repo id, preset suffix, any case', async () => {
    for (const model of ['onnx-community/gemma3n-tiny', 'GEMMA3N-TINY/q4_mixed', 'gemma3n-tiny/Q4_MIXED']) {
      const r = await client.chat.completions.create({ model, messages, max_tokens: 2 });
      assert.equal(r.model, MODEL);
    }
  });
});

describe('completions', () => {
  test('create and stream give the same text for the same seed', async () => {
    const params = { model: MODEL, prompt: 'Once upon a time', max_tokens: 16, seed: 99, temperature: 0.8 };
    const full = await client.completions.create(params);
    assert.equal(full.object, 'text_completion');
    assert.equal(typeof full.choices[0].text, 'string');
    assert.ok(full.usage.prompt_tokens > 0);
    const stream = await client.completions.create({ ...params, stream: true });
    let text = '';
    let finish = null;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, full.choices[0].text);
    assert.equal(finish, full.choices[0].finish_reason);
  });

  test('token-id prompt and default max_tokens (16)', async () => {
    const r = await client.completions.create({ model: MODEL, prompt: [2, 10, 20, 30], logit_bias: NO_EOS });
    assert.equal(r.usage.prompt_tokens, 4);
    assert.equal(r.usage.completion_tokens, 16);
    assert.equal(r.choices[0].finish_reason, 'length');
  });

  test('echo prepends the prompt', async () => {
    const r = await client.completions.create({ model: MODEL, prompt: 'Echo me', max_tokens: 3, echo: true });
    assert.ok(r.choices[0].text.startsWith('Echo me'));
  });
});

test('CORS is off unless enabled', async () => {
  const r = await fetch(`${server.url}/health`, { headers: { Origin: 'http://example.com' } });
  assert.equal(r.headers.get('access-control-allow-origin'), null);
});
