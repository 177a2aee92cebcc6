// Bad input: each case answers the right 4xx with an OpenAI error body, and the server keeps
// serving (the next request succeeds).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, post } from '../lib/server.mjs';

const MODEL = 'gemma3n-tiny';
const OK_BODY = { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 };
const BODY_LIMIT = 65536;

function assertErrorShape(r, status, { param, code, type } = {}) {
  assert.equal(r.status, status, `status ${r.status}: ${r.text}`);
  assert.ok(r.json && typeof r.json.error === 'object', `not an OpenAI error body: ${r.text}`);
  const e = r.json.error;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  if (param !== undefined) assert.equal(e.param, param);
  if (code !== undefined) assert.equal(e.code, code);
  if (type !== undefined) assert.equal(e.type, type);
}

async function assertStillServing(server, headers = {}) {
  const r = await post(server, '/v1/chat/completions', OK_BODY, headers);
  assert.equal(r.status, 200, `follow-up request failed: ${r.text}`);
  assert.equal(r.json.object, 'chat.completion');
}

describe('bad input without an API key', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--max-body-bytes', String(BODY_LIMIT)] });
  });
  after(async () => {
    const r = await server?.stop();
    assert.equal(r?.code, 0, server?.logs());
  });

  const chat = (body, headers) => post(server, '/v1/chat/completions', body, headers);

  test('malformed JSON: 400', async () => {
    assertErrorShape(await chat('{"model": "gemma3n-tiny", "messages": [', {}), 400, { type: 'invalid_request_error' });
    await assertStillServing(server);
  });

  test('numbers out of range and bodies nested too deeply: 400 invalid_json on every JSON endpoint', async () => {
    // A number the JSON library cannot hold (1e999) anywhere in the body, in a field the endpoint
    // reads, one it ignores, or deep inside a message, is the client's error, never a 500.
    const chatBodies = [
      `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"temperature":1e999}`,
      `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"max_tokens":-1e999}`,
      `{"model":"${MODEL}","messages":[{"role":"assistant","content":null,"tool_calls":[{"x":1e999}]}]}`,
      `{"model":"${MODEL}","messages":[{"role":"user","content":"hi"}],"metadata":{"a":[1e999]}}`,
      `{"frobnicate":1e999,"model":"${MODEL}","messages":[]}`,
    ];
    const completionBodies = [
      `{"model":"${MODEL}","prompt":"hi","temperature":1e999}`,
      `{"model":"${MODEL}","prompt":[1e999]}`,
      `{"model":"${MODEL}","prompt":"hi","logit_bias":{"5":1E+999}}`,
    ];
    const deep = (field) => `{"model":"${MODEL}",${field}:${'['.repeat(20000)}${']'.repeat(20000)}}`;
    for (const [route, bodies] of [
      ['/v1/chat/completions', [...chatBodies, deep('"messages"'), deep('"metadata"')]],
      ['/v1/completions', [...completionBodies, deep('"prompt"')]],
    ]) {
      for (const body of bodies) {
        const r = await post(server, route, body);
        assertErrorShape(r, 400, { type: 'invalid_request_error', code: 'invalid_json' });
      }
    }
    await assertStillServing(server);
  });

  test('body that is not an object: 400', async () => {
    assertErrorShape(await chat('[1, 2, 3]'), 400);
    await assertStillServing(server);
  });

  test('wrong types: 400 naming the field', async () => {
    assertErrorShape(await chat({ ...OK_BODY, temperature: 'hot' }), 400, { param: 'temperature', code: 'invalid_type' });
    assertErrorShape(await chat({ ...OK_BODY, max_tokens: '5' }), 400, { param: 'max_tokens' });
    assertErrorShape(await chat({ ...OK_BODY, messages: 'hello' }), 400, { param: 'messages' });
    assertErrorShape(await chat({ ...OK_BODY, stream: 'yes' }), 400, { param: 'stream' });
    assertErrorShape(await chat({ ...OK_BODY, messages: [{ role: 'user', content: 42 }] }), 400, {
      param: 'messages[0].content',
    });
    await assertStillServing(server);
  });

  test('out-of-range values: 400 naming the field', async () => {
    assertErrorShape(await chat({ ...OK_BODY, temperature: 5 }), 400, { param: 'temperature' });
    assertErrorShape(await chat({ ...OK_BODY, top_p: -1 }), 400, { param: 'top_p' });
    assertErrorShape(await chat({ ...OK_BODY, n: 1000 }), 400, { param: 'n' });
    await assertStillServing(server);
  });

  test('unknown model: 404 model_not_found', async () => {
    assertErrorShape(await chat({ ...OK_BODY, model: 'gpt-4o' }), 404, { param: 'model', code: 'model_not_found' });
    assertErrorShape(await chat({ ...OK_BODY, model: `${MODEL}/FP16` }), 404, { code: 'model_not_found' });
    await assertStillServing(server);
  });

  test('missing model: 400', async () => {
    assertErrorShape(await chat({ messages: OK_BODY.messages }), 400, { param: 'model' });
    await assertStillServing(server);
  });

  test('unknown field: 400 naming it', async () => {
    assertErrorShape(await chat({ ...OK_BODY, frobnicate: true }), 400, { param: 'frobnicate', code: 'unknown_parameter' });
    assertErrorShape(await chat({ ...OK_BODY, messages: [{ role: 'user', content: 'x', mood: 'happy' }] }), 400, {
      param: 'messages[0].mood',
    });
    await assertStillServing(server);
  });

  test('unsupported fields: 400 naming them', async () => {
    const tools = [{ type: 'code_interpreter' }];
    assertErrorShape(await chat({ ...OK_BODY, tools }), 400, { param: 'tools[0].type', code: 'unsupported_parameter' });
    const schema = { type: 'array', contains: { type: 'string' } };
    assertErrorShape(await chat({ ...OK_BODY, response_format: { type: 'json_schema', json_schema: { name: 'x', schema } } }), 400, {
      param: 'response_format.json_schema.schema',
      code: 'unsupported_schema',
    });
    const file = { type: 'file', file: { file_id: 'x' } };
    assertErrorShape(await chat({ ...OK_BODY, messages: [{ role: 'user', content: [file] }] }), 400, {
      param: 'messages[0].content[0]',
      code: 'unsupported_parameter',
    });
    await assertStillServing(server);
  });

  test('empty messages: 400', async () => {
    assertErrorShape(await chat({ ...OK_BODY, messages: [] }), 400, { param: 'messages' });
    await assertStillServing(server);
  });

  test('roles not alternating: 400 with the template message', async () => {
    const messages = [
      { role: 'user', content: 'one' },
      { role: 'user', content: 'two' },
    ];
    const r = await chat({ ...OK_BODY, messages });
    assertErrorShape(r, 400, { param: 'messages', code: 'template_error' });
    assert.match(r.json.error.message, /alternate/);
    await assertStillServing(server);
  });

  test('max_tokens beyond the context: 400', async () => {
    const r = await chat({ ...OK_BODY, max_tokens: 10_000_000 });
    assertErrorShape(r, 400, { param: 'max_tokens', code: 'context_length_exceeded' });
    await assertStillServing(server);
  });

  test('oversized body: 413', async () => {
    const big = { ...OK_BODY, messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT * 2) }] };
    assertErrorShape(await chat(big), 413, { code: 'request_too_large' });
    await assertStillServing(server);
  });

  test('unknown route: 404 with an error body', async () => {
    const r = await post(server, '/v1/nothing-here', {});
    assertErrorShape(r, 404);
    await assertStillServing(server);
  });

  test('completions: bad prompt types and out-of-vocabulary ids', async () => {
    assertErrorShape(await post(server, '/v1/completions', { model: MODEL, prompt: { a: 1 } }), 400, { param: 'prompt' });
    assertErrorShape(await post(server, '/v1/completions', { model: MODEL, prompt: [99999999] }), 400, { param: 'prompt' });
    assertErrorShape(await post(server, '/v1/completions', { model: MODEL, prompt: 'x', messages: [] }), 400, {
      param: 'messages',
    });
    await assertStillServing(server);
  });

  test('completions: the fields both endpoints share answer the same errors as in chat', async () => {
    const cases = [
      { temperature: 'hot' },
      { top_p: -1 },
      { top_k: 1.5 },
      { repetition_penalty: 0 },
      { seed: 'x' },
      { logit_bias: { x: 1 } },
      { logit_bias: { 5: 200 } },
      { stop: [''] },
      { stop: [1] },
      { n: 1000 },
      { max_tokens: 0 },
      { stream: 'yes' },
      { stream_options: { include_usage: 1 } },
      { stream_options: { x: 1 } },
      { user: 5 },
      { return_token_ids: 'y' },
      { model: null },
      { frobnicate: true },
    ];
    for (const bad of cases) {
      const c = await chat({ ...OK_BODY, ...bad });
      const p = await post(server, '/v1/completions', { model: MODEL, prompt: 'hi', max_tokens: 2, ...bad });
      assertErrorShape(c, 400);
      assertErrorShape(p, 400);
      assert.deepEqual(p.json.error, c.json.error, JSON.stringify(bad));
    }
    assertErrorShape(await post(server, '/v1/completions', { model: MODEL, prompt: 'hi', temperature: 'hot' }), 400, {
      param: 'temperature',
      code: 'invalid_type',
    });
    assertErrorShape(await post(server, '/v1/completions', { prompt: 'hi' }), 400, {
      param: 'model',
      code: 'missing_required_parameter',
    });
    await assertStillServing(server);
  });

  test('the SDK surfaces errors as typed exceptions', async () => {
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: 'x', maxRetries: 0 });
    await assert.rejects(client.chat.completions.create({ ...OK_BODY, model: 'nope' }), (e) => e.status === 404);
    await assert.rejects(client.chat.completions.create({ ...OK_BODY, temperature: 9 }), (e) => e.status === 400 && e.param === 'temperature');
  });
});

describe('API key', () => {
  let server;
  const KEY = 'sk-test-key-123';
  before(async () => {
    server = await startServer({ env: { ONNX_CHAT_API_KEY: KEY } });
  });
  after(async () => {
    const r = await server?.stop();
    assert.equal(r?.code, 0, server?.logs());
  });

  test('missing API key: 401', async () => {
    assertErrorShape(await post(server, '/v1/chat/completions', OK_BODY), 401, { code: 'invalid_api_key' });
    const models = await fetch(`${server.baseURL}/models`);
    assert.equal(models.status, 401);
    await assertStillServing(server, { Authorization: `Bearer ${KEY}` });
  });

  test('wrong API key: 401', async () => {
    const r = await post(server, '/v1/chat/completions', OK_BODY, { Authorization: 'Bearer sk-wrong' });
    assertErrorShape(r, 401, { code: 'invalid_api_key' });
    await assertStillServing(server, { Authorization: `Bearer ${KEY}` });
  });

  test('health, ready and metrics need no key; the SDK works with the key', async () => {
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.equal((await fetch(`${server.url}/ready`)).status, 200);
    const metrics = await fetch(`${server.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# (HELP|TYPE) /m);
    const client = new OpenAI({ baseURL: server.baseURL, apiKey: KEY, maxRetries: 0 });
    const r = await client.chat.completions.create(OK_BODY);
    assert.equal(r.object, 'chat.completion');
    const bad = new OpenAI({ baseURL: server.baseURL, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create(OK_BODY), (e) => e.status === 401);
  });
});

describe('CORS', () => {
  let server;
  before(async () => {
    server = await startServer({ args: ['--cors-origins', 'http://app.example'] });
  });
  after(async () => {
    await server?.stop();
  });

  test('allowed origin gets the headers, preflight answers 204', async () => {
    const r = await fetch(`${server.url}/v1/models`, { headers: { Origin: 'http://app.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://app.example');
    const pre = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(pre.status, 204);
    assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
    const other = await fetch(`${server.url}/v1/models`, { headers: { Origin: 'http://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});
