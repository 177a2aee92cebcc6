// The local hub for tests (tools/mockhub/mockhub.py), a fake model repo, and running the CLI
// against them with an isolated HF_HOME.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoDir, binPath } from './paths.mjs';

const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

// Starts the mock hub on 127.0.0.1 with an ephemeral port. repos: { 'org/name': dir } (a key may
// carry '@rev'). Resolves to { url, control(obj), reset(), log(), stop() }.
export async function startMockHub(repos, { token, gated = [], control } = {}) {
  const args = [path.join(repoDir, 'tools', 'mockhub', 'mockhub.py'), '--host', '127.0.0.1', '--port', '0'];
  for (const [id, dir] of Object.entries(repos)) args.push('--repo', `${id}=${dir}`);
  if (token) args.push('--token', token);
  for (const g of gated) args.push('--gated', g);
  if (control) args.push('--control', JSON.stringify(control));
  const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('mockhub did not start: ' + stderr)); }, 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`mockhub exited (${code}): ${stderr}`)); });
  });
  const post = async (p, body) => {
    const r = await fetch(url + p, { method: 'POST', body: JSON.stringify(body ?? {}), headers: { 'content-type': 'application/json' } });
    if (!r.ok) throw new Error(`mockhub ${p}: ${r.status}`);
  };
  return {
    url,
    control: (obj) => post('/_mock/control', obj),
    reset: () => post('/_mock/reset'),
    log: async () => (await fetch(url + '/_mock/log')).json(),
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

// Deterministic bytes (xorshift) so that files differ from each other and from run to run stay equal.
export function pseudoRandomBytes(size, seed) {
  const buf = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    buf[i] = x & 0xff;
  }
  return buf;
}

// A fake Gemma-3n-like ONNX repo: the hub does not read ONNX, so names and sizes are what count.
// Returns the folder. `big` is the size of the q4 decoder's external data (the file tests cut).
export function makeFakeRepo(dir, { big = 3_000_000 } = {}) {
  const files = {
    'README.md': 8, '.gitattributes': 8,
    'config.json': 0, 'generation_config.json': 0, 'tokenizer.json': 5000, 'tokenizer_config.json': 0,
    'special_tokens_map.json': 0, 'chat_template.jinja': 0, 'preprocessor_config.json': 0,
    'tokenizer.model': 20000, 'added_tokens.txt': 0,
    'onnx/embed_tokens.onnx': 3000, 'onnx/embed_tokens.onnx_data': 200000,
    'onnx/embed_tokens_quantized.onnx': 3000, 'onnx/embed_tokens_quantized.onnx_data': 60000,
    'onnx/embed_tokens_fp16.onnx': 3000, 'onnx/embed_tokens_fp16.onnx_data': 100000,
    'onnx/decoder_model_merged.onnx': 9000, 'onnx/decoder_model_merged.onnx_data': 400000,
    'onnx/decoder_model_merged.onnx_data_1': 300000,
    'onnx/decoder_model_merged_fp16.onnx': 9000, 'onnx/decoder_model_merged_fp16.onnx_data': 350000,
    'onnx/decoder_model_merged_q4.onnx': 9000, 'onnx/decoder_model_merged_q4.onnx_data': big,
    'onnx/vision_encoder.onnx': 90000, 'onnx/vision_encoder_fp16.onnx': 50000,
    'onnx/vision_encoder_quantized.onnx': 30000,
    'onnx/audio_encoder.onnx': 70000, 'onnx/audio_encoder_quantized.onnx': 25000,
  };
  let seed = 1;
  for (const [rel, size] of Object.entries(files)) {
    const full = path.join(dir, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    if (rel.endsWith('.json')) fs.writeFileSync(full, JSON.stringify({ name: rel, model_type: 'gemma3n' }) + '\n');
    else if (rel.endsWith('.jinja')) fs.writeFileSync(full, '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}\n');
    else fs.writeFileSync(full, pseudoRandomBytes(size, seed++));
  }
  return dir;
}

// A fresh temporary folder, removed when the test process exits (ONNX_CHAT_KEEP_TMP=1 keeps it).
const tempDirs = [];
process.on('exit', () => {
  if (process.env.ONNX_CHAT_KEEP_TMP) return;
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});
export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

// The environment of a CLI run: no HF_* of the caller, an isolated HF_HOME, the mock endpoint.
export function hubEnv(home, endpoint, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('HF_') && !k.startsWith('HUGGING') && k !== 'TRANSFORMERS_OFFLINE' && !k.startsWith('ONNX_CHAT_'))
      env[k] = v;
  return { ...env, HF_HOME: home, HF_ENDPOINT: endpoint, ONNX_CHAT_LOG_LEVEL: 'warn', ...extra };
}

// Runs onnx-chat; never throws on a non-zero exit. Resolves to { code, signal, stdout, stderr }.
export function runCli(args, env, { timeout = 60000 } = {}) {
  return new Promise((resolve) => {
    execFile(binPath(), args, { env, timeout, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, signal: err?.signal ?? null, stdout, stderr });
    });
  });
}

// Every file under dir (relative paths), symlinks listed as links.
export function walk(dir, base = dir, out = []) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, base, out);
    else out.push(path.relative(base, full));
  }
  return out.sort();
}
