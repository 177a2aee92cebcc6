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

for (const name of names) {
  let t0 = performance.now();
  let tok = await loadReference(name);
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  for (const text of corpus) tok.encode(text);
  const first = performance.now() - t0;
  let best = Infinity;
  for (let r = 0; r < 5; ++r) {
    t0 = performance.now();
    for (const text of corpus) tok.encode(text);
    best = Math.min(best, performance.now() - t0);
  }
  const mb = bytes / 1e6;
  console.log(
    `${name}: load ${loadMs.toFixed(0)} ms; encode first pass ${first.toFixed(1)} ms (${(mb / (first / 1000)).toFixed(2)} MB/s); ` +
      `warm ${best.toFixed(1)} ms (${(mb / (best / 1000)).toFixed(2)} MB/s); corpus ${corpus.length} strings, ${bytes} bytes`,
  );
  tok = null;
}
