// Structured output and tool calls through the official `openai` SDK on the random-weight fixture
// with the real Gemma vocabulary: response_format json_schema (strict) and json_object, tools with
// tool_choice auto / required / named (streamed and not), a tool round trip, and the errors.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, fixtureModel, post } from '../lib/server.mjs';

const MODEL = 'gemma3n-gemmatok';
let server;
let client;

const personSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 130 },
    tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, maxItems: 3 },
    address: { anyOf: [{ type: 'null' }, { $ref: '#/$defs/address' }] },
  },
  required: ['name', 'age', 'tags', 'address'],
  additionalProperties: false,
  $defs: {
    address: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 8 }, zip: { type: 'string', pattern: '^[0-9]{5}$' } },
      required: ['city', 'zip'],
      additionalProperties: false,
    },
  },
};

function checkPerson(p) {
  assert.deepEqual(Object.keys(p).sort(), ['address', 'age', 'name', 'tags']);
  assert.equal(typeof p.name, 'string');
  assert.ok([...p.name].length <= 12);
  assert.ok(Number.isInteger(p.age) && p.age >= 0 && p.age <= 130, String(p.age));
  assert.ok(Array.isArray(p.tags) && p.tags.length <= 3 && p.tags.every((t) => ['a', 'b', 'c'].includes(t)));
  if (p.address !== null) assert.match(p.address.zip, /^[0-9]{5}$/);
}

const weather = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 10 }, unit: { enum: ['C', 'F'] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
    strict: true,
  },
};
const time = {
  type: 'function',
  function: {
    name: 'get_time',
    parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 6 } }, required: ['zone'], additionalProperties: false },
  },
};

before(async () => {
  server = await startServer({ model: fixtureModel(MODEL) });
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'not-needed', maxRetries: 0 });
});

after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, `server exit: ${JSON.stringify(r)}\n${server?.logs()}`);
});

describe('response_format', () => {
  test('json_schema (strict): every choice parses and matches the schema', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Describe a person.' }],
        response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: personSchema } },
        max_tokens: 200,
        n: 2,
        seed,
        logprobs: true,
      });
      assert.equal(r.choices.length, 2);
      for (const c of r.choices) {
        checkPerson(JSON.parse(c.message.content));
        assert.ok(c.logprobs.content.length > 0);
      }
    }
  });

  test('json_schema streamed: the deltas join into the same valid JSON as the non-streamed reply', async () => {
    const req = {
      model: MODEL,
      messages: [{ role: 'user', content: 'Describe a person.' }],
      response_format: { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: personSchema } },
      max_tokens: 200,
      seed: 7,
    };
    const whole = await client.chat.completions.create(req);
    let text = '';
    for await (const chunk of await client.chat.completions.create({ ...req, stream: true }))
      text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, whole.choices[0].message.content);
    checkPerson(JSON.parse(text));
  });

  test('json_object gives a JSON object', async () => {
    for (const seed of [1, 2]) {
      const r = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: 'user', content: 'Any JSON.' }],
        response_format: { type: 'json_object' },
        max_tokens: 120,
        seed,
      });
      const v = JSON.parse(r.choices[0].message.content);
      assert.equal(typeof v, 'object');
      assert.ok(v !== null && !Array.isArray(v));
    }
  });

  test('unsupported keywords and broken schemas answer 400 naming them', async () => {
    let r = await post(server, '/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'array', contains: { type: 'string' } } } },
    });
    assert.equal(r.status, 400);
    let e = r.json.error;
    assert.equal(e.param, 'response_format.json_schema.schema');
    assert.match(e.message, /contains/);
    assert.equal(e.code, 'unsupported_schema');
    r = await post(server, '/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { $ref: '#/$defs/missing' } } },
    });
    assert.equal(r.status, 400);
    e = r.json.error;
    assert.match(e.message, /missing/);
    r = await post(server, '/v1/chat/completions', {
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { schema: {} } },
    });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, 'response_format.json_schema.name');
  });
});

describe('tools', () => {
  const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];

  test('tool_choice required: the reply is tool calls with arguments matching the parameters', async () => {
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({
        model: MODEL,
        messages,
        tools: [weather, time],
        tool_choice: 'required',
        max_tokens: 160,
        seed,
      });
      const c = r.choices[0];
      assert.equal(c.finish_reason, 'tool_calls', JSON.stringify(c));
      assert.ok(c.message.tool_calls.length >= 1);
      for (const call of c.message.tool_calls) {
        assert.equal(call.type, 'function');
        assert.match(call.id, /^call_/);
        const args = JSON.parse(call.function.arguments);
        if (call.function.name === 'get_weather') {
          assert.ok(['C', 'F'].includes(args.unit));
          assert.equal(typeof args.city, 'string');
        } else {
          assert.equal(call.function.name, 'get_time');
          assert.equal(typeof args.zone, 'string');
        }
      }
    }
  });

  test('a named tool_choice calls exactly that function', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages,
      tools: [weather, time],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      max_tokens: 120,
      seed: 4,
    });
    const calls = r.choices[0].message.tool_calls;
    assert.equal(calls.length, 1);
    assert.equal(calls[0].function.name, 'get_time');
    assert.equal(typeof JSON.parse(calls[0].function.arguments).zone, 'string');
    assert.equal(r.choices[0].message.content, null);
  });

  test('streamed tool calls arrive as delta.tool_calls and match the non-streamed reply', async () => {
    const req = { model: MODEL, messages, tools: [weather], tool_choice: 'required', parallel_tool_calls: false, max_tokens: 120, seed: 5 };
    const whole = await client.chat.completions.create(req);
    const calls = [];
    let finish;
    for await (const chunk of await client.chat.completions.create({ ...req, stream: true })) {
      const ch = chunk.choices[0];
      if (!ch) continue;
      for (const tc of ch.delta?.tool_calls ?? []) {
        calls[tc.index] ??= { name: '', arguments: '' };
        if (tc.function?.name) calls[tc.index].name += tc.function.name;
        calls[tc.index].arguments += tc.function?.arguments ?? '';
      }
      if (ch.finish_reason) finish = ch.finish_reason;
    }
    assert.equal(finish, 'tool_calls');
    assert.equal(calls.length, 1);
    assert.equal(calls[0].name, 'get_weather');
    assert.equal(calls[0].arguments, whole.choices[0].message.tool_calls[0].function.arguments);
    // The SDK's stream helper assembles the same call.
    const stream = client.chat.completions.stream({ ...req });
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0].message.tool_calls[0].function.name, 'get_weather');
  });

  test('tool_choice auto answers (text or calls) and tool_choice none never calls', async () => {
    const auto = await client.chat.completions.create({ model: MODEL, messages, tools: [weather], max_tokens: 24, seed: 1 });
    assert.ok(['stop', 'length', 'tool_calls'].includes(auto.choices[0].finish_reason));
    const none = await client.chat.completions.create({ model: MODEL, messages, tools: [weather], tool_choice: 'none', max_tokens: 24, seed: 1 });
    assert.equal(none.choices[0].message.tool_calls, undefined);
    assert.notEqual(none.choices[0].finish_reason, 'tool_calls');
  });

  test('one round trip: the call and its tool result go back through the template', async () => {
    const first = await client.chat.completions.create({ model: MODEL, messages, tools: [weather], tool_choice: 'required', max_tokens: 120, seed: 2 });
    const msg = first.choices[0].message;
    assert.ok(msg.tool_calls.length >= 1);
    const history = [
      ...messages,
      msg,
      ...msg.tool_calls.map((c) => ({ role: 'tool', tool_call_id: c.id, content: JSON.stringify({ temperature: 21 }) })),
    ];
    const second = await client.chat.completions.create({ model: MODEL, messages: history, tools: [weather], max_tokens: 16, seed: 3 });
    assert.ok(second.choices[0].finish_reason);
    assert.ok(second.usage.prompt_tokens > first.usage.prompt_tokens);
  });

  test('bad tool requests answer 400 naming the field', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages, tools: [weather], tool_choice: { type: 'function', function: { name: 'nope' } } }),
      (e) => e.status === 400 && e.param === 'tool_choice',
    );
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages, tool_choice: 'required' }),
      (e) => e.status === 400 && e.param === 'tool_choice',
    );
    await assert.rejects(
      client.chat.completions.create({ model: MODEL, messages, tools: [{ type: 'function', function: { name: 'bad name!' } }] }),
      (e) => e.status === 400 && e.param === 'tools[0].function.name',
    );
  });
});
