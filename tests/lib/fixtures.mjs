// Fixture models for the tests: generation on demand, variant discovery, synthetic media.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fixturesDir, repoDir } from './paths.mjs';

export const FIXTURES = ['gemma3n-tiny', 'gemma3n-gemmatok'];

function python() {
  if (process.env.ONNX_CHAT_PYTHON) return process.env.ONNX_CHAT_PYTHON;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/**
 * Makes sure the fixture folders exist under fixturesDir(), running the generator when one is
 * missing (it skips fixtures whose stamp is current). Returns the fixtures folder.
 */
export function ensureFixtures(names = FIXTURES) {
  const root = fixturesDir();
  const missing = names.filter((n) => !fs.existsSync(path.join(root, n, '.stamp')));
  if (missing.length === 0) return root;
  const script = path.join(repoDir, 'tools', 'fixtures', 'make_fixtures.py');
  const r = spawnSync(python(), [script, '--out', root, '--only', ...missing], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, ONNX_CHAT_NPM_DIR: process.env.ONNX_CHAT_NPM_DIR ?? path.join(repoDir, 'tests', 'node_modules') },
  });
  if (r.status !== 0) throw new Error(`fixture generation failed (${script}, status ${r.status})`);
  return root;
}

const SUFFIX_TO_DTYPE = {
  '': 'fp32',
  _fp16: 'fp16',
  _quantized: 'quantized',
  _q4: 'q4',
  _q4f16: 'q4f16',
  _int8: 'int8',
  _uint8: 'uint8',
  _bnb4: 'bnb4',
};

/** dtype names of the component files present in a model folder (fp32 first). */
export function componentVariants(dir, component) {
  const re = new RegExp(`^${component}(.*)\\.onnx$`);
  const found = [];
  for (const f of fs.readdirSync(path.join(dir, 'onnx'))) {
    const m = f.match(re);
    if (m && m[1] in SUFFIX_TO_DTYPE) found.push(SUFFIX_TO_DTYPE[m[1]]);
  }
  const order = Object.values(SUFFIX_TO_DTYPE);
  return found.sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

export const decoderVariants = (dir) => componentVariants(dir, 'decoder_model_merged');

/** A small synthetic RGB image ({data, width, height, channels}); `k` picks one of several. */
export function testImage(k = 0, width = 64, height = 48) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; ++y) {
    for (let x = 0; x < width; ++x) {
      const i = 3 * (y * width + x);
      if (k % 2 === 0) {
        data[i] = (x * 4) & 255; // horizontal red ramp, vertical green ramp
        data[i + 1] = (y * 5) & 255;
        data[i + 2] = 128;
      } else {
        const inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2;
        data[i] = inside ? 230 : 20; // a disc on a dark background
        data[i + 1] = inside ? 40 + 30 * k : 20;
        data[i + 2] = inside ? 60 : 200;
      }
    }
  }
  return { data, width, height, channels: 3 };
}

/** A 16 kHz sine tone, Float32Array. */
export function testTone(freq = 440, seconds = 1, amplitude = 0.3) {
  const n = Math.round(16000 * seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; ++i) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / 16000);
  return out;
}
