// Many users at once: greedy answers of requests run concurrently (different lengths, joining
// mid-flight, sharing a prefix, with images) are token-identical to the same requests run alone,
// on every decode path: batched with GroupQueryAttention (gemma3-tiny), batched with plain
// attention (stories260K, the real model of the shared folder; gemma4-tiny, with images),
// interleaved (gemma3n-tiny, whose decoder has no attention mask). Also: the prefix cache over a
// 20-turn chat.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, fixtureModel, post, metric } from '../lib/server.mjs';
import { sharedDir } from '../lib/paths.mjs';
import { testImage } from '../lib/fixtures.mjs';
import { encodeBmp } from '../lib/media.mjs';

const QUESTIONS = [
  'Hi',
  'Tell me a story about a cat and a dog who become friends in the park.',
  'What is two plus two?',
  'Once upon a time there was a little girl who loved to play outside with her big red ball every day.',
  'Why is the sky blue? Explain it in a few words.',
  'List three colours.',
];
const SYSTEM = 'You are a helpful assistant who answers briefly and kindly, always in English.';

function imageUri(k) {
  const { data, width, height } = testImage(k, 40 + 8 * k, 32);
  return `data:image/bmp;base64,${Buffer.from(encodeBmp(data, width, height)).toString('base64')}`;
}

/** The request set: different prompt lengths and max_tokens, a shared system prompt, images. */
function requests({ images }) {
  const out = QUESTIONS.map((q, i) => ({
    messages: [{ role: 'user', content: q }],
    max_tokens: 6 + 5 * i,
  }));
  for (let i = 0; i < 3; ++i)
    out.push({ messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: QUESTIONS[i + 2] }], max_tokens: 12 });
  if (images)
    for (let k = 0; k < 3; ++k)
      out.push({
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: imageUri(k % 2) } }, { type: 'text', text: QUESTIONS[k] }] }],
        max_tokens: 10,
      });
  return out;
}

async function run(server, body) {
  const r = await post(server, '/v1/chat/completions', {
    model: path.basename(server.model), temperature: 0, return_token_ids: true, ...body,
  });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Streams a request and resolves once the first content chunk arrived, with the final ids later. */
async function streamed(server, body) {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: path.basename(server.model), temperature: 0, return_token_ids: true, stream: true, ...body }),
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const ids = [];
  let firstResolve;
  const first = new Promise((r) => (firstResolve = r));
  const done = (async () => {
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buf += decoder.decode(value, { stream: true });
      let k;
      while ((k = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, k);
        buf = buf.slice(k + 2);
        const line = block.split('\n').find((l) => l.startsWith('data: '));
        if (!line || line === 'data: [DONE]') continue;
        const chunk = JSON.parse(line.slice(6));
        for (const c of chunk.choices ?? []) if (c.token_ids) ids.push(...c.token_ids);
        if (ids.length > 0) firstResolve();
      }
    }
    firstResolve();
    return ids;
  })();
  await first;
  return done;
}

const MODELS = [
  { name: 'gemma3-tiny (one batched run per step, GroupQueryAttention)', dir: () => fixtureModel('gemma3-tiny') },
  {
    name: 'stories260K (one batched run per step, plain attention)',
    dir: () => path.join(sharedDir(), 'real-models', 'stories260K'),
    skip: !sharedDir() && 'shared folder not beside the checkout',
  },
  { name: 'gemma3n-tiny (interleaved runs, images)', dir: () => fixtureModel('gemma3n-tiny'), images: true },
  {
    name: 'gemma4-tiny (one batched run per step, plain attention, images)',
    dir: () => fixtureModel('gemma4-tiny'),
    images: true,
    batches: true,
  },
];

for (const m of MODELS) {
  describe(`concurrent requests on ${m.name}`, { skip: m.skip }, () => {
    let alone, shared;
    const reqs = requests({ images: !!m.images });
    const expected = [];
    before(async () => {
      // One request at a time, nothing reused: the answers concurrency must not change.
      alone = await startServer({ model: m.dir(), args: ['--parallel', '1', '--no-prefix-cache'] });
      alone.model = m.dir();
      for (const r of reqs) expected.push((await run(alone, r)).choices[0].token_ids);
      await alone.stop();
      shared = await startServer({ model: m.dir(), args: ['--parallel', '16', '--step-tokens', '16'] });
      shared.model = m.dir();
    });
    after(async () => {
      await alone?.stop();
      await shared?.stop();
    });

    test('all at once: token-identical to alone, in one batch where the model batches', async () => {
      const got = await Promise.all(reqs.map((r) => run(shared, r)));
      got.forEach((g, i) => assert.deepEqual(g.choices[0].token_ids, expected[i], `request ${i}`));
      if (!m.images || m.batches) assert.ok((await metric(shared, 'onnx_chat_decode_rows_total')) > (await metric(shared, 'onnx_chat_decode_steps_total')), 'several rows per decode step');
    });

    test('joining mid-flight and sharing a cached prefix: still identical', async () => {
      // The longest request streams; the others join once it is decoding.
      const longest = reqs.reduce((a, r, i) => (r.max_tokens > reqs[a].max_tokens ? i : a), 0);
      const first = await streamed(shared, reqs[longest]);
      const rest = await Promise.all(reqs.map((r, i) => (i === longest ? null : run(shared, r))));
      assert.deepEqual(await first, expected[longest], 'the request that was running');
      rest.forEach((g, i) => g && assert.deepEqual(g.choices[0].token_ids, expected[i], `request ${i}`));
      // This round ran prompts the server saw before: their prefixes came from the cache.
      assert.ok(rest.some((g) => g && g.usage.prompt_tokens_details.cached_tokens > 0), 'a prefix was reused');
      assert.ok((await metric(shared, 'onnx_chat_prefix_cache_hits_total')) > 0);
    });

    test('afterwards every row and byte of the KV budget is free', async () => {
      assert.equal(await metric(shared, 'onnx_chat_running_requests'), 0);
      assert.equal(await metric(shared, 'onnx_chat_kv_bytes_in_use'), await metric(shared, 'onnx_chat_prefix_cache_bytes'));
    });
  });
}

describe('a 20-turn chat reuses each turn\'s cache', () => {
  let server;
  before(async () => {
    server = await startServer({ model: fixtureModel('gemma3-tiny') });
    server.model = fixtureModel('gemma3-tiny');
  });
  after(async () => server?.stop());

  test('cached_tokens > 0 from turn 2, and each turn prefills at most its new tokens', async () => {
    const messages = [];
    let previousPrompt = 0;
    const rows = [];
    for (let turn = 1; turn <= 20; ++turn) {
      messages.push({ role: 'user', content: `${QUESTIONS[turn % QUESTIONS.length]} (turn ${turn})` });
      const t0 = performance.now();
      const r = await run(server, { messages, max_tokens: 8 });
      const ms = performance.now() - t0;
      const { prompt_tokens: prompt, prompt_tokens_details: details } = r.usage;
      const cached = details.cached_tokens;
      rows.push({ turn, prompt, cached, ms: Math.round(ms) });
      if (turn === 1) assert.equal(cached, 0);
      else {
        assert.ok(cached > 0, `turn ${turn}: cached_tokens ${cached}`);
        assert.ok(prompt - cached <= prompt - previousPrompt, `turn ${turn}: prefilled ${prompt - cached} of ${prompt}, new ${prompt - previousPrompt}`);
      }
      previousPrompt = prompt;
      messages.push({ role: 'assistant', content: r.choices[0].message.content });
    }
    if (process.env.ONNX_CHAT_VERBOSE) console.log(rows);
  });
});
