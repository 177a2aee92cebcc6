// transformers.js generate() on the same model files and prompt ids as generate_bench: prefill
// tokens/s (from a 1-token generation) and decode tokens/s (from the extra tokens of a longer one).
//   node bench/tjs_bench.mjs --model DIR [--prompt-tokens 256] [--decode-tokens 64] [--reps 3]
//        [--dtype decoder_model_merged=q4,embed_tokens=quantized]
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'package.json'));
const { env, AutoModelForImageTextToText, Tensor } = await import(require.resolve('@huggingface/transformers'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const dir = path.resolve(args.model);
const promptTokens = Number(args['prompt-tokens'] ?? 256);
const decodeTokens = Number(args['decode-tokens'] ?? 64);
const reps = Number(args.reps ?? 3);
const warmup = Number(args.warmup ?? 1);  // discarded first rounds
const dtype = {};
for (const item of (args.dtype ?? 'decoder_model_merged=q4,embed_tokens=quantized').split(',')) {
  const [k, v] = item.split('=');
  dtype[k] = v;
}
for (const c of ['vision_encoder', 'audio_encoder']) dtype[c] ??= 'fp32';

// The same ids as generate_bench's make_prompt (the same generator, in exact integer arithmetic).
const ids = [2];
let x = 12345n;
while (ids.length < promptTokens) {
  x = (x * 1103515245n + 12345n) % 2147483648n;
  ids.push(1000 + Number(x % 199000n));
}

env.allowRemoteModels = false;
env.localModelPath = path.dirname(dir) + path.sep;
const model = await AutoModelForImageTextToText.from_pretrained(path.basename(dir), { dtype, device: 'cpu' });
const input_ids = new Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
const attention_mask = new Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]);

async function timed(n) {
  const t0 = performance.now();
  const out = await model.generate({ input_ids, attention_mask, max_new_tokens: n, min_new_tokens: n, do_sample: false });
  return { ms: performance.now() - t0, out };
}
let prefill = 0;
let decode = 0;
let first = [];
for (let r = 1 - warmup; r <= reps; ++r) {
  const one = await timed(1);
  const many = await timed(decodeTokens);
  if (r <= 0) continue;
  prefill = Math.max(prefill, ids.length / (one.ms / 1000));
  decode = Math.max(decode, (decodeTokens - 1) / ((many.ms - one.ms) / 1000));
  first = Array.from(many.out.data.slice(ids.length, ids.length + 2), Number);
}
console.log(JSON.stringify({ mode: 'transformers.js', prefill_tps: prefill, decode_tps: decode, peak_rss_kb: Math.round(process.resourceUsage().maxRSS), first_tokens: first }));
await model.dispose();
