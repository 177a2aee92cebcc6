// Soak and load test of `onnx-chat serve` on loopback: for a given time, a pool of clients sends a
// mix of text, image and audio requests (chat through the openai SDK and raw fetch, streamed or
// not, n > 1, completions, transcriptions), and a share of them hang up at a random point (while
// queued, during prefill, mid-stream). The server's RSS, open file descriptors (/proc/PID/fd) and
// threads (/proc/PID/status) are sampled before, during and after the load, with the latency
// percentiles of a fixed probe request before and after, and of every request during.
//
// Phases: warm-up (the heaviest requests of the mix at once, then the mix), idle -> baseline (RSS, fds,
// threads; probe latencies), load, idle -> final figures. It fails when any request got a 5xx (or
// an SSE error of a server_error type, or a connection error it did not cause), when RSS grew by
// 5 % or more over the baseline (less what the prefix and encoder caches added to their contents), or when fds
// or threads are not back to the baseline.
//
//   node tests/soak/soak.mjs [--seconds 1800] [--warmup S] [--concurrency 10] [--model DIR]
//        [--bin build/onnx-chat] [--report FILE.json] [--server-log FILE] [--seed 1]
//   or against a running server: --url http://127.0.0.1:PORT --pid PID
// Prints one summary line ("soak: PASS ..." / "soak: FAIL ...") and exits 0 / 1.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import OpenAI, { toFile } from 'openai';
import { binPath } from '../lib/paths.mjs';
import { ensureFixtures, testImage, testTone } from '../lib/fixtures.mjs';
import { encodeBmp } from '../lib/media.mjs';
import { procStats } from '../lib/proc.mjs';

const MODEL_NAME = 'gemma3n-tiny';
const RSS_GROWTH_LIMIT = 0.05;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a small seeded random source (runs are repeatable request for request) ----
function rng(seed) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
  };
}

// ---- the server process: /proc figures ----
// The TCP states of the process's sockets ({ESTABLISHED: 3, CLOSE_WAIT: 1, ...}): which side holds
// the connections that are left when fds are not back to the baseline.
const TCP_STATES = { '01': 'ESTABLISHED', '02': 'SYN_SENT', '03': 'SYN_RECV', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT', '07': 'CLOSE', '08': 'CLOSE_WAIT', '09': 'LAST_ACK', '0A': 'LISTEN', '0B': 'CLOSING' };
function socketStates(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = fs.readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const states = {};
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines = [];
    try {
      lines = fs.readFileSync(table, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      const state = TCP_STATES[f[3]] ?? f[3];
      states[state] = (states[state] ?? 0) + 1;
      inodes.delete(f[9]);
    }
  }
  if (inodes.size) states.other = inodes.size;
  return states;
}

function percentiles(values) {
  if (values.length === 0) return { n: 0, p50: null, p95: null, p99: null, max: null };
  const v = [...values].sort((a, b) => a - b);
  const at = (q) => v[Math.min(v.length - 1, Math.floor(q * v.length))];
  const r = (x) => Math.round(x * 10) / 10;
  return { n: v.length, p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(v[v.length - 1]) };
}

// ---- media ----
function wav16(samples) {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + samples.length * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20); // PCM
  b.writeUInt16LE(1, 22); // mono
  b.writeUInt32LE(16000, 24);
  b.writeUInt32LE(32000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(samples.length * 2, 40);
  for (let i = 0; i < samples.length; ++i) b.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767), 44 + 2 * i);
  return b;
}

// A few fixed images and clips (encoder-cache hits), and fresh ones made per request (misses).
function makeMedia(r) {
  const images = [0, 1, 2, 3].map((k) => {
    const { data, width, height } = testImage(k, 64, 48);
    return encodeBmp(data, width, height);
  });
  const clips = [440, 660].map((f) => wav16(testTone(f, 1)));
  return {
    image: () => {
      if (r.chance(0.5)) return r.pick(images);
      const { data, width, height } = testImage(r.int(0, 5), r.int(16, 96), r.int(16, 96));
      data[0] = r.int(0, 255); // a different picture each time
      return encodeBmp(data, width, height);
    },
    clip: () => (r.chance(0.5) ? r.pick(clips) : wav16(testTone(r.int(200, 2000), r.int(5, 20) / 10))),
  };
}

const b64 = (buf) => Buffer.from(buf).toString('base64');
const QUESTIONS = ['hi', 'Tell me a story.', 'What is in this picture?', 'Describe the sound.', 'Count to ten.',
  'Why is the sky blue? Answer in detail, with examples and a summary at the end.'];

// ---- one request of the mix ----
// Each returns {kind, status, ms, ttftMs?, aborted?, sseError?}; a thrown error is a transport
// failure the client did not cause.

async function readSSE(res, onEvent) {
  const dec = new TextDecoder();
  let buf = '';
  for await (const part of res.body) {
    buf += dec.decode(part, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of block.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (onEvent(data === '[DONE]' ? data : JSON.parse(data)) === false) return;
      }
    }
  }
}

function chatBody(r, media, { modality, stream, n }) {
  const parts = [];
  if (modality === 'image') {
    for (let k = r.int(1, 2); k > 0; --k) parts.push({ type: 'image_url', image_url: { url: `data:image/bmp;base64,${b64(media.image())}` } });
  } else if (modality === 'audio') {
    parts.push({ type: 'input_audio', input_audio: { data: b64(media.clip()), format: 'wav' } });
  }
  parts.push({ type: 'text', text: r.pick(QUESTIONS) });
  const messages = [{ role: 'user', content: modality === 'text' && r.chance(0.5) ? r.pick(QUESTIONS) : parts }];
  if (r.chance(0.3)) messages.unshift({ role: 'system', content: 'You are terse.' });
  const body = { model: MODEL_NAME, messages, max_tokens: r.int(1, 24), n, temperature: r.pick([0, 0.7, 1]) };
  if (stream) Object.assign(body, { stream: true, stream_options: { include_usage: r.chance(0.5) } });
  return body;
}

// Settles with `promise`, or rejects when `signal` aborts first. Node's fetch can leave a body read
// (`res.text()`, the body's iterator) pending forever when its request is aborted mid-read
// (nodejs/node#56917), which would stall the client that made it.
function untilAborted(promise, signal) {
  if (signal.aborted) return Promise.reject(signal.reason);
  return Promise.race([
    promise,
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
  ]);
}

// Raw fetch with a planned hang-up: 'queued' (right after sending), 'prefill' (before the first
// token), 'mid-stream' (after some chunks), or none.
async function rawRequest(base, route, body, { stream, hangup, r, id }) {
  const ac = new AbortController();
  const t0 = performance.now();
  let timer = null;
  if (hangup === 'queued') timer = setTimeout(() => ac.abort(), r.int(0, 20));
  if (hangup === 'prefill') timer = setTimeout(() => ac.abort(), r.int(5, 150));
  const result = { status: 0, ms: 0 };
  try {
    const res = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': id },
      body: JSON.stringify(body),
      signal: ac.signal,
    });
    result.status = res.status;
    if (!stream || res.status !== 200) {
      await untilAborted(res.text(), ac.signal);
    } else {
      const stopAfter = hangup === 'mid-stream' ? r.int(1, 6) : Infinity;
      let chunks = 0;
      await untilAborted(readSSE(res, (ev) => {
        if (ev !== '[DONE]' && ev.error) result.sseError = ev.error;
        if (ev !== '[DONE]' && ev.choices?.length && result.ttftMs === undefined) result.ttftMs = performance.now() - t0;
        if (++chunks >= stopAfter) {
          ac.abort();
          return false;
        }
        return true;
      }), ac.signal);
      if (chunks >= stopAfter) result.aborted = true;
    }
  } catch (e) {
    if (!ac.signal.aborted) throw e;
    result.aborted = true;
  } finally {
    clearTimeout(timer);
  }
  result.ms = performance.now() - t0;
  return result;
}

async function sdkChat(client, body, id) {
  const opts = { headers: { 'X-Request-Id': id } };
  const t0 = performance.now();
  const result = { status: 200, ms: 0 };
  try {
    if (body.stream) {
      const stream = await client.chat.completions.create(body, opts);
      for await (const chunk of stream) {
        if (chunk.choices?.length && result.ttftMs === undefined) result.ttftMs = performance.now() - t0;
      }
    } else {
      const c = await client.chat.completions.create(body, opts);
      if (c.choices.length !== body.n) throw new Error(`asked for ${body.n} choices, got ${c.choices.length}`);
    }
  } catch (e) {
    if (e instanceof OpenAI.APIError && e.status) result.status = e.status;
    else if (e instanceof OpenAI.APIError && e.error) result.sseError = e.error;
    else throw e;
  }
  result.ms = performance.now() - t0;
  return result;
}

async function sdkTranscription(client, media, id) {
  const t0 = performance.now();
  const result = { status: 200, ms: 0 };
  try {
    await client.audio.transcriptions.create(
      { model: MODEL_NAME, file: await toFile(media.clip(), 'clip.wav') },
      { headers: { 'X-Request-Id': id } },
    );
  } catch (e) {
    if (e instanceof OpenAI.APIError && e.status) result.status = e.status;
    else throw e;
  }
  result.ms = performance.now() - t0;
  return result;
}

// `id` goes out as X-Request-Id: the server's log line of the request carries it.
async function oneRequest(base, client, r, media, id) {
  const roll = r.next();
  const modality = r.pick(['text', 'text', 'image', 'audio']);
  const n = r.chance(0.25) ? r.int(2, 3) : 1;
  const hangup = r.chance(0.3) ? r.pick(['queued', 'prefill', 'mid-stream']) : null;
  // Transcriptions are rare: a random-weight model never ends one early (a few hundred tokens).
  if (roll < 0.03) return { kind: 'transcription', ...(await sdkTranscription(client, media, id)) };
  if (roll < 0.15) {
    const body = { model: MODEL_NAME, prompt: r.pick(QUESTIONS), max_tokens: r.int(1, 24), n, stream: true };
    return { kind: 'completions', hangup, ...(await rawRequest(base, '/v1/completions', body, { stream: true, hangup, r, id })) };
  }
  const stream = hangup === 'mid-stream' || r.chance(0.5);
  const body = chatBody(r, media, { modality, stream, n });
  if (hangup) return { kind: `chat-${modality}`, hangup, ...(await rawRequest(base, '/v1/chat/completions', body, { stream, hangup, r, id })) };
  return { kind: `chat-${modality}`, ...(await sdkChat(client, body, id)) };
}

// ---- load, probes, idle ----

async function load(ctx, seconds, concurrency, record) {
  const end = Date.now() + seconds * 1000;
  const worker = async (w) => {
    const r = rng(ctx.seed * 7919 + w + ctx.round * 104729);
    const media = makeMedia(r);
    for (let seq = 0; Date.now() < end; ++seq) {
      const id = `soak-${ctx.round}-${w}-${seq}`;
      try {
        record(await oneRequest(ctx.base, ctx.client, r, media, id));
      } catch (e) {
        // The deepest cause names the failure (ECONNRESET, UND_ERR_SOCKET, ...).
        let c = e;
        while (c?.cause) c = c.cause;
        record({ kind: 'transport', status: 0, error: String(c?.code ?? c?.message ?? c), id, at: new Date().toISOString() });
      }
    }
  };
  ctx.round++;
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
}

// The heaviest requests of the mix, all clients at once (every slot busy with the largest prompts
// and n = 3): the warm-up starts with these so that the baseline is taken after the memory
// high-water marks (allocator arenas, encoder and prefix caches) were reached.
async function heavyRounds(ctx, concurrency, record) {
  const r = rng(ctx.seed * 31337);
  const media = makeMedia(r);
  for (const modality of ['image', 'audio', 'image']) {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const body = chatBody(r, media, { modality, stream: false, n: 3 });
        body.max_tokens = 24;
        if (modality === 'image') {
          body.messages = [{ role: 'user', content: [
            { type: 'image_url', image_url: { url: `data:image/bmp;base64,${b64(media.image())}` } },
            { type: 'image_url', image_url: { url: `data:image/bmp;base64,${b64(media.image())}` } },
            { type: 'text', text: QUESTIONS[5] },
          ] }];
        }
        record({ kind: `heavy-${modality}`, ...(await sdkChat(ctx.client, body, `soak-heavy-${modality}`)) });
      }),
    );
  }
}

async function probes(ctx, count = 10) {
  const times = [];
  for (let i = 0; i < count; ++i) {
    const t0 = performance.now();
    const res = await fetch(`${ctx.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL_NAME, messages: [{ role: 'user', content: 'hi' }], max_tokens: 8, temperature: 0 }),
    });
    await res.text();
    if (res.status !== 200) throw new Error(`probe answered ${res.status}`);
    times.push(performance.now() - t0);
  }
  return percentiles(times);
}

async function metricValue(ctx, name) {
  const text = await (await fetch(`${ctx.base}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm'));
  return m ? Number(m[1]) : null;
}

// What the prefix and media encoder caches hold: content kept within their budgets, not growth.
async function cachedBytes(ctx) {
  const prefix = (await metricValue(ctx, 'onnx_chat_prefix_cache_bytes')) ?? 0;
  const encoder = (await metricValue(ctx, 'onnx_chat_encoder_cache_bytes')) ?? 0;
  return { prefix, encoder, total: prefix + encoder };
}

// How long the server keeps an idle connection open (kIdleSeconds in src/api), plus a margin: a
// client may hold an idle connection that long, and the server closes it then.
const SERVER_IDLE_MS = 12000;

// Waits until the engine is idle, then samples the process: with a target, as soon as fds and
// threads are back to it (or at the timeout: what is left then is not an idle connection); without
// one, once the fd and thread counts have stayed put for longer than the server keeps an idle
// connection.
async function settle(ctx, { target = null, timeoutMs = 60000 } = {}) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const busy = (await metricValue(ctx, 'onnx_chat_queue_depth')) + (await metricValue(ctx, 'onnx_chat_running_requests'));
    if (busy === 0) break;
    await sleep(200);
  }
  let last = procStats(ctx.pid);
  let stableSince = Date.now();
  while (Date.now() < end) {
    await sleep(500);
    const s = procStats(ctx.pid);
    if (s.fds !== last.fds || s.threads !== last.threads) stableSince = Date.now();
    last = s;
    const back = target && s.fds <= target.fds && s.threads <= target.threads;
    if (back || (!target && Date.now() - stableSince >= SERVER_IDLE_MS)) break;
  }
  return last;
}

async function serverErrors5xx(ctx) {
  const text = await (await fetch(`${ctx.base}/metrics`)).text();
  let total = 0;
  for (const m of text.matchAll(/^onnx_chat_errors_total\{[^}]*status="(\d+)"[^}]*\} ([0-9.eE+-]+)$/gm)) {
    if (Number(m[1]) >= 500) total += Number(m[2]);
  }
  return total;
}

// ---- the server, when the soak starts its own ----

async function startOwnServer({ bin, model, logFile, extraArgs }) {
  const log = fs.openSync(logFile, 'w');
  const proc = spawn(bin, ['serve', '--model', model, '--host', '127.0.0.1', '--port', '0', ...extraArgs], {
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  let port = null;
  for (let i = 0; i < 1200 && port === null; ++i) {
    if (proc.exitCode !== null) throw new Error(`server exited (${proc.exitCode}):\n${fs.readFileSync(logFile, 'utf8')}`);
    const m = fs.readFileSync(logFile, 'utf8').match(/listening on http:\/\/[^:\s]+:(\d+)/);
    if (m) port = Number(m[1]);
    else await sleep(50);
  }
  if (port === null) throw new Error('server did not report its port');
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; ++i) {
    try {
      if ((await fetch(`${base}/ready`)).status === 200) break;
    } catch {
      // not accepting yet
    }
    if (i > 1200 || proc.exitCode !== null) throw new Error(`server not ready:\n${fs.readFileSync(logFile, 'utf8')}`);
    await sleep(50);
  }
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 20000);
    const r = await exited;
    clearTimeout(t);
    return r;
  };
  return { base, pid: proc.pid, stop };
}

/**
 * Runs the soak; returns the report ({pass, failures, summary, ...}).
 * @param {{seconds?: number, warmup?: number, concurrency?: number, seed?: number, url?: string, pid?: number,
 *          bin?: string, model?: string, serverLog?: string, serverArgs?: string[], log?: (s: string) => void}} o
 */
export async function runSoak(o = {}) {
  const seconds = o.seconds ?? 1800;
  const warmup = o.warmup ?? Math.min(60, Math.max(10, Math.round(seconds / 10)));
  const concurrency = o.concurrency ?? 10;
  const log = o.log ?? ((s) => process.stderr.write(`${s}\n`));
  let server = null;
  if (o.url) {
    if (!o.pid) throw new Error('--url needs --pid (the server process to watch)');
    server = { base: o.url.replace(/\/$/, ''), pid: o.pid, stop: async () => {} };
  } else {
    const model = o.model ?? path.join(ensureFixtures([MODEL_NAME]), MODEL_NAME);
    const serverLog = o.serverLog ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'oc-soak-')), 'server.log');
    server = await startOwnServer({
      bin: o.bin ?? binPath(),
      model,
      logFile: serverLog,
      extraArgs: o.serverArgs ?? ['--parallel', '4', '--queue-size', '8', '--encoder-cache-mb', '16'],
    });
    log(`soak: server pid ${server.pid} at ${server.base}, log ${serverLog}`);
  }
  const ctx = {
    base: server.base,
    pid: server.pid,
    seed: o.seed ?? 1,
    round: 0,
    client: new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'soak', maxRetries: 0, timeout: 120000 }),
  };

  const requests = [];
  const samples = [];
  let phase = 'start';
  const sampler = setInterval(() => {
    try {
      samples.push({ t: Date.now(), phase, ...procStats(ctx.pid) });
    } catch {
      // the process is gone: the checks below fail on it
    }
  }, 1000);
  const record = (q) => requests.push({ phase, ...q });

  try {
    const start = procStats(ctx.pid);
    const server5xxStart = await serverErrors5xx(ctx);
    phase = 'warmup';
    log(`soak: warm-up ${warmup} s, ${concurrency} clients`);
    await heavyRounds(ctx, concurrency, record);
    await load(ctx, warmup, concurrency, record);
    phase = 'idle-before';
    const before = { probe: await probes(ctx), ...(await settle(ctx)) };
    before.cachedBytes = await cachedBytes(ctx);
    log(`soak: baseline rss ${(before.rssKb / 1024).toFixed(1)} MB, ${before.fds} fds, ${before.threads} threads`);
    phase = 'load';
    log(`soak: load ${seconds} s`);
    const loadStart = Date.now();
    await load(ctx, seconds, concurrency, record);
    const loadSeconds = (Date.now() - loadStart) / 1000;
    phase = 'idle-after';
    const probeAfter = await probes(ctx);
    const after = { probe: probeAfter, ...(await settle(ctx, { target: before })) };
    after.cachedBytes = await cachedBytes(ctx);
    const server5xx = (await serverErrors5xx(ctx)) - server5xxStart;

    const during = requests.filter((q) => q.phase === 'load');
    const byStatus = {};
    for (const q of during) {
      const key = q.kind === 'transport' ? `transport:${q.error}` : q.aborted ? 'hung up' : q.sseError ? `sse:${q.sseError.code ?? q.sseError.type}` : String(q.status);
      byStatus[key] = (byStatus[key] ?? 0) + 1;
    }
    const all = requests.filter((q) => q.phase === 'load' || q.phase === 'warmup');
    const fivexx = all.filter((q) => q.status >= 500).length;
    const transport = all.filter((q) => q.kind === 'transport').length;
    const sse5xx = all.filter((q) => q.sseError && /server_error/.test(q.sseError.type ?? '')).length;
    const ok = during.filter((q) => q.status === 200 && !q.aborted && !q.sseError);
    const loadSamples = samples.filter((s) => s.phase === 'load');
    const peak = loadSamples.reduce((m, s) => Math.max(m, s.rssKb), 0);
    // What the caches learnt stays (within their budgets): content, not growth of the server.
    const cachedKb = (after.cachedBytes.total - before.cachedBytes.total) / 1024;
    const growth = (after.rssKb - before.rssKb - cachedKb) / before.rssKb;

    const failures = [];
    for (const q of all.filter((x) => x.kind === 'transport')) log(`soak: connection error at ${q.at}, X-Request-Id ${q.id}: ${q.error}`);
    if (fivexx) failures.push(`${fivexx} responses with a 5xx status`);
    if (server5xx) failures.push(`${server5xx} 5xx errors counted by the server (onnx_chat_errors_total)`);
    if (sse5xx) failures.push(`${sse5xx} streams ended by a server_error event`);
    if (transport) failures.push(`${transport} connection errors the client did not cause`);
    if (growth >= RSS_GROWTH_LIMIT) failures.push(`RSS grew ${(growth * 100).toFixed(1)} % beyond the caches (limit ${RSS_GROWTH_LIMIT * 100} %)`);
    if (after.fds > before.fds)
      failures.push(`fds not back to baseline: ${before.fds} -> ${after.fds} (sockets: ${JSON.stringify(socketStates(ctx.pid))})`);
    if (after.threads > before.threads) failures.push(`threads not back to baseline: ${before.threads} -> ${after.threads}`);
    if (ok.length === 0) failures.push('no request completed');

    const mb = (kb) => (kb / 1024).toFixed(1);
    const latency = percentiles(ok.map((q) => q.ms));
    const ttft = percentiles(ok.filter((q) => q.ttftMs !== undefined).map((q) => q.ttftMs));
    const report = {
      pass: failures.length === 0,
      failures,
      seconds: loadSeconds,
      warmup,
      concurrency,
      requests: during.length,
      requests_per_second: Math.round((during.length / loadSeconds) * 10) / 10,
      by_status: byStatus,
      by_kind: Object.fromEntries(
        [...new Set(during.map((q) => q.kind))].map((k) => [k, during.filter((q) => q.kind === k).length]),
      ),
      hangups: Object.fromEntries(
        ['queued', 'prefill', 'mid-stream'].map((h) => [h, during.filter((q) => q.hangup === h).length]),
      ),
      rss_mb: { start: +mb(start.rssKb), before: +mb(before.rssKb), peak: +mb(peak), after: +mb(after.rssKb), caches_added: +mb(cachedKb), growth_pct: Math.round(growth * 1000) / 10 },
      fds: { start: start.fds, before: before.fds, peak: Math.max(...loadSamples.map((s) => s.fds), 0), after: after.fds },
      threads: { start: start.threads, before: before.threads, peak: Math.max(...loadSamples.map((s) => s.threads), 0), after: after.threads },
      latency_ms: { before: before.probe, during: latency, during_ttft: ttft, after: after.probe },
      samples: samples.map(({ t, phase: p, rssKb, fds, threads }) => ({ t, phase: p, rssKb, fds, threads })),
    };
    const statusText = Object.entries(byStatus).map(([k, v]) => `${k}: ${v}`).join(', ');
    report.summary =
      `soak: ${report.pass ? 'PASS' : 'FAIL'} ${Math.round(loadSeconds)} s, ${during.length} requests (${statusText}); ` +
      `rss ${mb(before.rssKb)} -> ${mb(after.rssKb)} MB (caches +${mb(cachedKb)} MB; growth beyond them ${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %, peak ${mb(peak)}); ` +
      `fds ${before.fds} -> ${after.fds}; threads ${before.threads} -> ${after.threads}; ` +
      `probe p50/p95 ms before ${before.probe.p50}/${before.probe.p95} after ${after.probe.p50}/${after.probe.p95}; ` +
      `during p50/p95/p99 ms ${latency.p50}/${latency.p95}/${latency.p99} (ttft p50 ${ttft.p50})` +
      (failures.length ? `; failures: ${failures.join('; ')}` : '');
    return report;
  } finally {
    clearInterval(sampler);
    await server.stop();
  }
}

// ---- command line ----
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const a = {};
  for (let i = 2; i < process.argv.length; i += 2) a[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
  const num = (k) => (a[k] === undefined ? undefined : Number(a[k]));
  const report = await runSoak({
    seconds: num('seconds'),
    warmup: num('warmup'),
    concurrency: num('concurrency'),
    seed: num('seed'),
    url: a.url,
    pid: num('pid'),
    bin: a.bin,
    model: a.model,
    serverLog: a['server-log'],
  });
  if (a.report) fs.writeFileSync(a.report, JSON.stringify(report, null, 2));
  console.log(report.summary);
  process.exit(report.pass ? 0 : 1);
}
