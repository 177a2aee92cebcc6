// The engine through the HTTP server: starts `onnx-chat serve` on the bench model, streams
// /v1/completions with the same prompt ids as generate_bench (greedy; BENCH_LOGIT_BIAS=1 bans the
// EOS ids as generate_bench's ignore_eos does, at the cost of a logits copy per token), and
// measures on the client side:
// prefill tokens/s = prompt tokens / time to the first token; decode tokens/s = the tokens after
// the first / the time after the first.
//   node bench/server_bench.mjs --bin build/onnx-chat --model DIR [--prompt-tokens 256]
//        [--decode-tokens 64] [--reps 3] [--port 18431] [--threads 0] [--matmul-precision auto]
// Also reports load_s: from the spawn to /ready answering 200. The server runs without its prefix
// cache: every round sends the same prompt, which would otherwise be served from the cache.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const promptTokens = Number(args['prompt-tokens'] ?? 256);
const decodeTokens = Number(args['decode-tokens'] ?? 64);
const reps = Number(args.reps ?? 3);
const warmup = Number(args.warmup ?? 1);  // discarded first rounds
const port = Number(args.port ?? 18431);
const base = `http://127.0.0.1:${port}`;

const ids = [2];
let x = 12345n;
while (ids.length < promptTokens) {
  x = (x * 1103515245n + 12345n) % 2147483648n;
  ids.push(1000 + Number(x % 199000n));
}

const spawned = performance.now();
const server = spawn(args.bin, ['serve', '--model', args.model, '--port', String(port), '--threads', String(args.threads ?? 0),
  '--matmul-precision', args['matmul-precision'] ?? 'auto', '--log-level', 'error', '--no-prefix-cache'], { stdio: ['ignore', 'ignore', 'inherit'] });
const stop = () => { try { server.kill('SIGTERM'); } catch {} };
process.on('exit', stop);

async function ready() {
  for (let i = 0; i < 1200; ++i) {
    if (server.exitCode !== null) throw new Error(`server exited (${server.exitCode}) before it was ready`);
    try {
      const r = await fetch(`${base}/ready`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('server not ready');
}

async function once() {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: args.model.split('/').at(-1), prompt: ids, max_tokens: decodeTokens, temperature: 0,
      stream: true, stream_options: { include_usage: true }, ...(process.env.BENCH_LOGIT_BIAS ? { logit_bias: { 1: -100, 106: -100 } } : {}) }),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const dec = new TextDecoder();
  let first = 0, last = 0, chunks = 0, buf = '', timings = null, completion = decodeTokens;
  for await (const part of r.body) {
    buf += dec.decode(part, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const now = performance.now();
      const chunk = JSON.parse(ev.slice(6));
      if (chunk.timings) timings = chunk.timings;
      if (chunk.usage) completion = chunk.usage.completion_tokens;
      if (!chunk.choices?.length) continue;  // the usage chunk
      if (!first) first = now;
      last = now;
      chunks++;
    }
  }
  return { prefill: ids.length / ((first - t0) / 1000), decode: (completion - 1) / ((last - first) / 1000), chunks,
    server_prefill: timings ? ids.length / (timings.prompt_ms / 1000) : 0, server_decode: timings?.decode_tokens_per_second ?? 0 };
}

try {
  await ready();
  const loadS = (performance.now() - spawned) / 1000;
  let prefill = 0, decode = 0, sprefill = 0, sdecode = 0;
  for (let r = 1 - warmup; r <= reps; ++r) {
    const m = await once();
    if (r <= 0) continue;
    prefill = Math.max(prefill, m.prefill);
    decode = Math.max(decode, m.decode);
    sprefill = Math.max(sprefill, m.server_prefill);
    sdecode = Math.max(sdecode, m.server_decode);
  }
  let rss = 0;
  try {
    const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
    rss = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  } catch {}
  console.log(JSON.stringify({ mode: 'server', precision: args['matmul-precision'] ?? 'auto', load_s: loadS,
    prefill_tps: prefill, decode_tps: decode, peak_rss_kb: rss,
    server_timings: { prefill_tps: sprefill, decode_tps: sdecode } }));
} finally {
  stop();
}
