// Many users at once: starts `onnx-chat serve` on a model and, for each number of concurrent
// streams, sends that many streaming /v1/completions requests together (prompts of the same length
// with different ids, greedy, the EOS ids banned so every stream runs to max_tokens), measuring on
// the client side
//   aggregate decode tokens/s = tokens after each stream's first / wall time from the first stream's
//                               first token to the last stream's end
//   inter-token latency p50/p95 over every gap between two chunks of a stream
//   batched decode tokens/s = streams / ITL p50 (the rate while every stream decodes: prefill
//                             chunks of streams still reading their prompts fall in the p95)
//   time to first token p50/max
//   end-to-end tokens/s = every token generated / wall time from the first request sent to the last
//                         stream's end (the whole work: prefills included, for one stream too)
// and prints a table with the ratio of each aggregate to one stream's.
//   node bench/concurrency_bench.mjs --bin build/onnx-chat --model DIR [--streams 1,2,4,8,16]
//        [--prompt-tokens 64] [--decode-tokens 32] [--port 18432] [--eos 1,106] [--args "..."]
import { spawn } from 'node:child_process';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const streams = (args.streams ?? '1,2,4,8,16').split(',').map(Number);
const promptTokens = Number(args['prompt-tokens'] ?? 64);
const decodeTokens = Number(args['decode-tokens'] ?? 32);
const port = Number(args.port ?? 18432);
const base = `http://127.0.0.1:${port}`;
const eos = (args.eos ?? '1,106').split(',').filter(Boolean).map(Number);
const vocabTop = Number(args['vocab-ids'] ?? 200);  // prompt ids are drawn from [3, 3 + vocabTop)

const extra = (args.args ?? '').split(' ').filter(Boolean);
const server = spawn(args.bin, ['serve', '--model', args.model, '--port', String(port), '--log-level', 'error',
  '--parallel', String(Math.max(...streams)), '--no-prefix-cache', ...extra], { stdio: ['ignore', 'ignore', 'inherit'] });
const stop = () => { try { server.kill('SIGTERM'); } catch {} };
process.on('exit', stop);

async function ready() {
  for (let i = 0; i < 2400; ++i) {
    try {
      if ((await fetch(`${base}/ready`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('server not ready');
}

function promptIds(seed) {
  const ids = [];
  let x = BigInt(seed * 7919 + 1);
  while (ids.length < promptTokens) {
    x = (x * 1103515245n + 12345n) % 2147483648n;
    ids.push(3 + Number(x % BigInt(vocabTop)));
  }
  return ids;
}

async function one(seed) {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: args.model.replace(/\/+$/, '').split('/').at(-1), prompt: promptIds(seed), max_tokens: decodeTokens, temperature: 0, stream: true,
      logit_bias: Object.fromEntries(eos.map((id) => [id, -100])) }),
  });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const dec = new TextDecoder();
  const times = [];
  // Inter-token gaps: tokens that arrive in one read (a fast model's events coalesce in the
  // socket) share the time since the previous read, instead of counting as gaps of 0.
  const gaps = [];
  let lastRead = null;
  let buf = '';
  for await (const part of r.body) {
    const now = performance.now();
    buf += dec.decode(part, { stream: true });
    let tokens = 0;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const chunk = JSON.parse(ev.slice(6));
      if (chunk.choices?.length) {
        times.push(now);
        ++tokens;
      }
    }
    if (!tokens) continue;
    if (lastRead !== null) for (let k = 0; k < tokens; ++k) gaps.push((now - lastRead) / tokens);
    lastRead = now;
  }
  return { t0, times, gaps };
}

const pct = (xs, p) => {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

await ready();
await one(999);  // warm-up
const rows = [];
for (const n of streams) {
  const results = await Promise.all(Array.from({ length: n }, (_, k) => one(1000 * n + k)));
  const firsts = results.map((r) => r.times[0]);
  const ends = results.map((r) => r.times.at(-1));
  const after = results.reduce((s, r) => s + r.times.length - 1, 0);
  const wall = (Math.max(...ends) - Math.min(...firsts)) / 1000;
  const gaps = results.flatMap((r) => r.gaps);
  const ttft = results.map((r) => r.times[0] - r.t0);
  const generated = results.reduce((s, r) => s + r.times.length, 0);
  const whole = (Math.max(...ends) - Math.min(...results.map((r) => r.t0))) / 1000;
  rows.push({ streams: n, aggregate_tps: after / wall, end_to_end_tps: generated / whole, decode_tps: (1000 * n) / pct(gaps, 50), itl_p50_ms: pct(gaps, 50), itl_p95_ms: pct(gaps, 95),
    ttft_p50_ms: pct(ttft, 50), ttft_max_ms: Math.max(...ttft) });
  console.log(JSON.stringify(rows.at(-1)));
}
const single = rows.find((r) => r.streams === 1)?.aggregate_tps;
const singleDecode = rows.find((r) => r.streams === 1)?.decode_tps;
const singleWhole = rows.find((r) => r.streams === 1)?.end_to_end_tps;
const ratio = (x, one) => (one ? (x / one).toFixed(2) : 'n/a');
console.log(`\nmodel ${args.model}, prompt ${promptTokens} tokens, ${decodeTokens} generated per stream\n`);
console.log('| streams | aggregate tok/s | x one stream | batched decode tok/s | x one stream | end-to-end tok/s | x one stream | ITL p50 ms | ITL p95 ms | TTFT p50 ms | TTFT max ms |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.streams} | ${r.aggregate_tps.toFixed(1)} | ${ratio(r.aggregate_tps, single)} | ` +
    `${r.decode_tps.toFixed(1)} | ${ratio(r.decode_tps, singleDecode)} | ${r.end_to_end_tps.toFixed(1)} | ${ratio(r.end_to_end_tps, singleWhole)} | ` +
    `${r.itl_p50_ms.toFixed(1)} | ${r.itl_p95_ms.toFixed(1)} | ${r.ttft_p50_ms.toFixed(0)} | ${r.ttft_max_ms.toFixed(0)} |`);
stop();
process.exit(0);
