// Where the tests find the binary, the fixtures, and the shared folder.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const testsDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const repoDir = path.dirname(testsDir);

export function binPath() {
  return process.env.ONNX_CHAT_BIN || path.join(repoDir, 'build', 'onnx-chat');
}

export function fixturesDir() {
  return process.env.ONNX_CHAT_FIXTURES || path.join(repoDir, 'build', 'fixtures');
}

// ../shared beside the checkout (real models and graphs), or null when absent.
export function sharedDir() {
  const dir = process.env.ONNX_CHAT_SHARED || path.join(repoDir, '..', 'shared');
  return fs.existsSync(dir) ? dir : null;
}
