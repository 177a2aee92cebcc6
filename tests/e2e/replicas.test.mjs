// The replica recipe (scripts/replicas.sh, deploy/nginx/onnx-chat.conf.in): two replicas of the
// tiny fixture behind nginx on loopback. Requests without a conversation id spread over both; the
// requests of one conversation (X-Conversation-Id) all go to one replica; after one replica is
// killed (SIGKILL), every new request, those of its conversations included, still succeeds.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import OpenAI from 'openai';
import { fixtureModel, freePort } from '../lib/server.mjs';
import { binPath, repoDir } from '../lib/paths.mjs';

const MODEL = 'gemma3n-tiny';
let lb; // {url, replicas: [{pid, port}], proc, logs()}

async function startReplicas() {
  const port = await freePort();
  const proc = spawn(
    path.join(repoDir, 'scripts', 'replicas.sh'),
    ['--replicas', '2', '--port', String(port), '--model', fixtureModel(MODEL), '--bin', binPath(), '--', '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: false },
  );
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replicas not ready:\n${out}`)), 120000);
    const check = () => {
      const m = out.match(/replicas: ready (\S+) nginx=(\d+) replicas=(\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout.on('data', check);
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`replicas.sh exited (${code}):\n${out}`));
    });
  });
  const replicas = line[3].split(',').map((s) => {
    const [pid, p] = s.split('@').map(Number);
    return { pid, port: p };
  });
  return { url: line[1], replicas, proc, exited, logs: () => out };
}

async function chat(conversation, content = 'hi') {
  const headers = { 'content-type': 'application/json' };
  if (conversation) headers['x-conversation-id'] = conversation;
  const r = await fetch(`${lb.url}/v1/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: 3, temperature: 0 }),
  });
  const text = await r.text();
  return { status: r.status, servedBy: r.headers.get('x-served-by'), text };
}

// Chat requests a replica counted, from its own /metrics.
async function chatCount(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^onnx_chat_http_requests_total\{endpoint="chat",status="200"\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

describe('replicas behind nginx', () => {
  before(async () => {
    lb = await startReplicas();
  });
  after(async () => {
    if (!lb) return;
    lb.proc.kill('SIGTERM');
    const t = setTimeout(() => lb.proc.kill('SIGKILL'), 20000);
    await lb.exited;
    clearTimeout(t);
    for (const r of lb.replicas) {
      try {
        process.kill(r.pid, 0);
        assert.fail(`replica ${r.pid} still running after replicas.sh stopped`);
      } catch (e) {
        if (e.code !== 'ESRCH') throw e;
      }
    }
  });

  test('requests without a conversation id spread over both replicas', async () => {
    const before0 = await Promise.all(lb.replicas.map((r) => chatCount(r.port)));
    const served = new Set();
    for (let i = 0; i < 16; ++i) {
      const r = await chat(null);
      assert.equal(r.status, 200, r.text);
      served.add(r.servedBy);
    }
    const after0 = await Promise.all(lb.replicas.map((r) => chatCount(r.port)));
    const counts = after0.map((n, i) => n - before0[i]);
    assert.equal(counts[0] + counts[1], 16, `replica counts ${counts}`);
    assert.ok(counts[0] > 0 && counts[1] > 0, `all went to one replica: ${counts}`);
    assert.equal(served.size, 2, `X-Served-By: ${[...served]}`);
  });

  test('a conversation sticks to one replica (the openai SDK with a default header)', async () => {
    const owners = new Map();
    for (let c = 0; c < 8; ++c) {
      const id = `conversation-${c}`;
      const seen = new Set();
      for (let turn = 0; turn < 4; ++turn) {
        const r = await chat(id, `turn ${turn}`);
        assert.equal(r.status, 200, r.text);
        seen.add(r.servedBy);
      }
      assert.equal(seen.size, 1, `${id} went to ${[...seen]}`);
      owners.set(id, [...seen][0]);
    }
    assert.equal(new Set(owners.values()).size, 2, 'eight conversations all on one replica');
    // The SDK way: one client per conversation with the header set once.
    const client = new OpenAI({ baseURL: `${lb.url}/v1`, apiKey: 'x', defaultHeaders: { 'X-Conversation-Id': 'conversation-3' } });
    for (let turn = 0; turn < 3; ++turn) {
      const { response } = await client.chat.completions
        .create({ model: MODEL, messages: [{ role: 'user', content: 'again' }], max_tokens: 2 })
        .withResponse();
      assert.equal(response.headers.get('x-served-by'), owners.get('conversation-3'));
    }
  });

  test('killing one replica loses no new request', async () => {
    const [victim, survivor] = lb.replicas;
    const victimAddr = `127.0.0.1:${victim.port}`;
    const conversations = [];
    for (let c = 0; conversations.length < 2 && c < 64; ++c) {
      const r = await chat(`kill-${c}`);
      if (r.servedBy === victimAddr) conversations.push(`kill-${c}`);
    }
    assert.equal(conversations.length, 2, 'no conversation landed on the replica to kill');
    process.kill(victim.pid, 'SIGKILL');
    const results = await Promise.all([
      ...Array.from({ length: 12 }, () => chat(null)),
      ...conversations.flatMap((id) => [chat(id), chat(id)]),
    ]);
    for (const r of results) {
      assert.equal(r.status, 200, r.text);
      assert.equal(r.servedBy.split(', ').at(-1), `127.0.0.1:${survivor.port}`);
    }
    // The moved conversations stay together on the survivor.
    for (const id of conversations) assert.equal((await chat(id)).servedBy, `127.0.0.1:${survivor.port}`);
  });
});
