// The binary starts and reports the ONNX Runtime it runs on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { binPath } from '../lib/paths.mjs';

test('onnx-chat --version names the ONNX Runtime version', () => {
  const out = execFileSync(binPath(), ['--version'], { encoding: 'utf8' });
  assert.match(out, /^onnx-chat \d+\.\d+\.\d+ \(ONNX Runtime 1\.\d+\.\d+\)/);
});
