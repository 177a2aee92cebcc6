// Time to first token of a one-image chat request: `onnx-chat serve` (OpenAI request with the image
// as a data URI, max_tokens 1, measured on the client) against transformers.js (processor on the
// same JPEG bytes + generate() with max_new_tokens 1, in process), on the same model folder.
// Every round uses a fresh image, so the server's encoder cache cannot help;
// then a second turn about the round's image shows the cache: the server reports it in `timings`.
//   node bench/media_ttft.mjs --bin build/onnx-chat --model DIR [--reps 5] [--port 18433]
//        [--width 1600 --height 1200] [--dtype decoder_model_merged=q4,embed_tokens=quantized,...]
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'package.json'));
const sharp = (await import(require.resolve('sharp'))).default;
const tjs = await import(require.resolve('@huggingface/transformers'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const dir = path.resolve(args.model);
const reps = Number(args.reps ?? 5);
const port = Number(args.port ?? 18433);
const width = Number(args.width ?? 1600);
const height = Number(args.height ?? 1200);
const base = `http://127.0.0.1:${port}`;
const dtype = {};
for (const item of (args.dtype ??
  'decoder_model_merged=q4,embed_tokens=quantized,vision_encoder=fp16,audio_encoder=quantized').split(',')) {
  const [k, v] = item.split('=');
  dtype[k] = v;
}
const QUESTION = 'What is in this picture?';

// A photo-like JPEG: smooth gradients plus texture; `k` shifts the texture (a new image each time).
async function jpeg(k) {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; ++y)
    for (let x = 0; x < width; ++x) {
      const i = 3 * (y * width + x);
      px[i] = (x * 255) / width;
      px[i + 1] = (y * 255) / height;
      px[i + 2] = 128 + 100 * Math.sin((x + y + 5 * k) / 13);
    }
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// --- onnx-chat serve
const server = spawn(args.bin, ['serve', '--model', dir, '--port', String(port), '--log-level', 'error',
  ...(args.dtype ? [] : ['--preset', 'Q4_MIXED'])], { stdio: ['ignore', 'ignore', 'inherit'] });
process.on('exit', () => { try { server.kill('SIGTERM'); } catch {} });
for (let i = 0; ; ++i) {
  try {
    if ((await fetch(`${base}/ready`)).ok) break;
  } catch {}
  if (i > 1200) throw new Error('server not ready');
  await new Promise((r) => setTimeout(r, 250));
}

async function ask(messages) {
  const t0 = performance.now();
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: path.basename(dir), messages, max_tokens: 1, temperature: 0 }),
  });
  const body = await r.json();
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${JSON.stringify(body)}`);
  return { ms: performance.now() - t0, body };
}

const userTurn = (uri) => ({
  role: 'user',
  content: [{ type: 'image_url', image_url: { url: uri } }, { type: 'text', text: QUESTION }],
});
const serverFirst = [], serverSecond = [], encodeMs = [];
let hits = 0, encodedSecond = 0;
for (let k = 0; k <= reps; ++k) {
  const uri = `data:image/jpeg;base64,${(await jpeg(1000 + k)).toString('base64')}`;
  const first = await ask([userTurn(uri)]);
  // The second turn repeats the image in the history: served from the encoder cache.
  const second = await ask([userTurn(uri), { role: 'assistant', content: 'A gradient.' },
    { role: 'user', content: 'Describe its colours.' }]);
  if (k === 0) continue;  // warm-up round
  serverFirst.push(first.ms);
  serverSecond.push(second.ms);
  encodeMs.push(first.body.timings?.encode_image_ms ?? NaN);
  if (process.env.BENCH_VERBOSE) console.error(JSON.stringify(first.body.timings), JSON.stringify(second.body.timings));
  hits += second.body.timings?.media_cache_hits ?? 0;
  encodedSecond += second.body.timings?.media_encoded ?? 0;
}
server.kill('SIGTERM');

// --- transformers.js
tjs.env.allowRemoteModels = false;
tjs.env.localModelPath = path.dirname(dir) + path.sep;
const processor = await tjs.AutoProcessor.from_pretrained(path.basename(dir));
const model = await tjs.AutoModelForImageTextToText.from_pretrained(path.basename(dir), { dtype, device: 'cpu' });
const tjsFirst = [];
for (let k = 0; k <= reps; ++k) {
  const bytes = await jpeg(1000 + k);
  const t0 = performance.now();
  const image = await tjs.RawImage.fromBlob(new Blob([bytes]));
  const prompt = processor.apply_chat_template([{ role: 'user', content: [{ type: 'image' }, { type: 'text', text: QUESTION }] }],
    { add_generation_prompt: true });
  const inputs = await processor(prompt, image, null, { add_special_tokens: false });
  await model.generate({ ...inputs, max_new_tokens: 1, do_sample: false });
  if (k > 0) tjsFirst.push(performance.now() - t0);
}
await model.dispose();

const out = {
  image: `${width}x${height} JPEG`,
  reps,
  server_ttft_ms: median(serverFirst),
  server_encode_image_ms: median(encodeMs),
  server_second_turn_ms: median(serverSecond),
  second_turn_cache_hits: hits,
  second_turn_encoder_runs: encodedSecond,
  tjs_ttft_ms: median(tjsFirst),
  tjs_over_server: median(tjsFirst) / median(serverFirst),
};
console.log(JSON.stringify(out));
process.exit(0);
