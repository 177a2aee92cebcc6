// /v1/responses through the official `openai` SDK on the random-weight fixture with the real Gemma
// vocabulary: plain, streamed (typed events), text.format json_schema, a function tool round trip
// with previous_response_id and function_call_output items, and the errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, fixtureModel, post } from '../lib/server.mjs';

const MODEL = 'gemma3n-gemmatok';
let server;
let client;

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 10 } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

before(async () => {
  server = await startServer({ model: fixtureModel(MODEL) });
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'not-needed', maxRetries: 0 });
});

after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, `server exit: ${JSON.stringify(r)}\n${server?.logs()}`);
});

test('responses.create: a plain reply with output_text and usage', async () => {
  const r = await client.responses.create({ model: MODEL, input: 'Say hello.', instructions: 'Be brief.', max_output_tokens: 8, temperature: 0 });
  assert.equal(r.object, 'response');
  assert.match(r.id, /^resp_/);
  assert.ok(['completed', 'incomplete'].includes(r.status));
  assert.equal(r.output[0].type, 'message');
  assert.equal(r.output[0].content[0].type, 'output_text');
  assert.equal(typeof r.output_text, 'string');
  assert.equal(r.output_text, r.output[0].content[0].text);
  assert.ok(r.usage.input_tokens > 0 && r.usage.output_tokens > 0);
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
});

test('responses.create streamed: typed events whose deltas equal the non-streamed text', async () => {
  const req = { model: MODEL, input: [{ role: 'user', content: [{ type: 'input_text', text: 'Tell a story.' }] }], max_output_tokens: 12, temperature: 0 };
  const whole = await client.responses.create(req);
  const types = [];
  let text = '';
  let completed;
  for await (const ev of await client.responses.create({ ...req, stream: true })) {
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    if (ev.type === 'response.completed' || ev.type === 'response.incomplete') completed = ev.response;
  }
  assert.equal(types[0], 'response.created');
  assert.ok(types.includes('response.output_item.added'));
  assert.ok(types.includes('response.output_text.done'));
  assert.ok(['response.completed', 'response.incomplete'].includes(types.at(-1)));
  assert.equal(text, whole.output_text);
  assert.equal(completed.output[0].content[0].text, text);
});

test('text.format json_schema constrains the output', async () => {
  const r = await client.responses.create({
    model: MODEL,
    input: 'A city as JSON.',
    text: { format: { type: 'json_schema', name: 'city', strict: true, schema: { type: 'object', properties: { name: { type: 'string', maxLength: 10 }, pop: { type: 'integer', minimum: 0 } }, required: ['name', 'pop'], additionalProperties: false } } },
    max_output_tokens: 80,
  });
  const v = JSON.parse(r.output_text);
  assert.equal(typeof v.name, 'string');
  assert.ok(Number.isInteger(v.pop) && v.pop >= 0);
});

test('a function tool: call, function_call_output with previous_response_id, answer', async () => {
  const first = await client.responses.create({ model: MODEL, input: 'Weather in Oslo?', tools: [weather], tool_choice: 'required', max_output_tokens: 80, seed: 3 });
  const calls = first.output.filter((o) => o.type === 'function_call');
  assert.ok(calls.length >= 1, JSON.stringify(first.output));
  assert.equal(calls[0].name, 'get_weather');
  assert.equal(typeof JSON.parse(calls[0].arguments).city, 'string');
  const second = await client.responses.create({
    model: MODEL,
    previous_response_id: first.id,
    input: calls.map((c) => ({ type: 'function_call_output', call_id: c.call_id, output: '{"temp": 3}' })),
    tools: [weather],
    max_output_tokens: 8,
  });
  assert.equal(second.previous_response_id, first.id);
  assert.ok(second.usage.input_tokens > first.usage.input_tokens);
  // Stateless: the same conversation sent as items.
  const third = await client.responses.create({
    model: MODEL,
    input: [{ role: 'user', content: 'Weather in Oslo?' }, ...calls.map((c) => ({ type: 'function_call', call_id: c.call_id, name: c.name, arguments: c.arguments })), ...calls.map((c) => ({ type: 'function_call_output', call_id: c.call_id, output: '{"temp": 3}' }))],
    tools: [weather],
    max_output_tokens: 8,
  });
  assert.equal(third.usage.input_tokens, second.usage.input_tokens);
});

test('streamed function calls arrive as function_call items', async () => {
  const types = [];
  let args = '';
  for await (const ev of await client.responses.create({ model: MODEL, input: 'Weather?', tools: [weather], tool_choice: { type: 'function', name: 'get_weather' }, max_output_tokens: 60, stream: true, seed: 2 })) {
    types.push(ev.type);
    if (ev.type === 'response.function_call_arguments.done') args = ev.arguments;
  }
  assert.ok(types.includes('response.function_call_arguments.delta'));
  assert.equal(typeof JSON.parse(args).city, 'string');
});

test('an unknown previous_response_id is a 404 naming it; bad fields are 400', async () => {
  const r = await post(server, '/v1/responses', { model: MODEL, input: 'x', previous_response_id: 'resp_nope' });
  assert.equal(r.status, 404);
  const e = r.json.error;
  assert.equal(e.param, 'previous_response_id');
  assert.match(e.message, /resp_nope/);
  const b = await post(server, '/v1/responses', { model: MODEL });
  assert.equal(b.status, 400);
  assert.equal(b.json.error.param, 'input');
  const c = await post(server, '/v1/responses', { model: MODEL, input: [{ type: 'mystery' }] });
  assert.equal(c.status, 400);
  assert.equal(c.json.error.param, 'input[0].type');
});
