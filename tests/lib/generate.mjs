// `onnx-chat generate --json`: one generation without a server, for parity and CLI tests.
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { binPath } from './paths.mjs';

/**
 * Writes `spec` to `file` and runs `onnx-chat generate --json` on it (log level error). `spec` is
 * a messages array or {messages, images, audio}, media paths relative to `file`. Returns the
 * result line: {prompt, prompt_ids, ids, text, finish_reason, usage, timings}. Throws with the
 * command's stderr when it fails.
 * @param {{model: string, file: string, spec: object, maxTokens: number, preset?: string, timeoutMs?: number}} opts
 */
export function generateJson({ model, file, spec, maxTokens, preset, timeoutMs = 120000 }) {
  fs.writeFileSync(file, JSON.stringify(spec));
  // The export's own matmul precision, as transformers.js computes.
  const args = ['generate', '--model', model, ...(preset ? ['--preset', preset] : []), '--messages', file,
    '--max-tokens', String(maxTokens), '--matmul-precision', 'exact', '--json', '--log-level', 'error'];
  const r = spawnSync(binPath(), args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.status !== 0) throw new Error(`onnx-chat generate failed (status ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}
