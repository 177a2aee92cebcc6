// The reference side of bench/tokenizer_bench.cpp: transformers.js on the same corpus.
//   node bench/tokenizer_bench.mjs [NAME ...]   (default: gemma3; needs npm ci in tests/)
// Prints load time and encode throughput (MB/s of UTF-8 input): the first pass over the corpus
// with a fresh tokenizer, then the best of several warm passes.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const tests = path.resolve(here, '..', 'tests');
const { loadReference } = await import(path.join(tests, 'golden/tokenizer/tokenizers.mjs'));
const corpus = JSON.parse(fs.readFileSync(path.join(tests, 'golden/tokenizer/corpus.json'), 'utf8')).map((e) => e.text);
const bytes = corpus.reduce((n, t) => n + Buffer.byteLength(t, 'utf8'), 0);
const names = process.argv.slice(2).length ? process.argv.slice(2) : ['gemma3'];

// Wall-clock and process CPU time (ms) of f.
async function timed(f) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1000 };
}

const mb = bytes / 1e6;
const rate = (ms) => (mb / (ms / 1000)).toFixed(2);
for (const name of names) {
  const load = await timed(() => loadReference(name));
  const tok = load.value;
  const first = await timed(() => corpus.forEach((text) => tok.encode(text)));
  let best = { wall: Infinity, cpu: Infinity };
  for (let r = 0; r < 5; ++r) {
    const t = await timed(() => corpus.forEach((text) => tok.encode(text)));
    if (t.wall < best.wall) best = t;
  }
  console.log(`${name}: corpus ${corpus.length} strings, ${bytes} bytes`);
  console.log(`  load:              wall ${load.wall.toFixed(0)} ms, cpu ${load.cpu.toFixed(0)} ms`);
  console.log(`  encode first pass: wall ${first.wall.toFixed(1)} ms (${rate(first.wall)} MB/s), cpu ${first.cpu.toFixed(1)} ms (${rate(first.cpu)} MB/s)`);
  console.log(`  encode warm (best of 5): wall ${best.wall.toFixed(1)} ms (${rate(best.wall)} MB/s), cpu ${best.cpu.toFixed(1)} ms (${rate(best.cpu)} MB/s)`);
}
