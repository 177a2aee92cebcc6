// The reference runner: transformers.js (@huggingface/transformers) on a model folder on disk.
// Other tests import it to get the reference's prompt ids and greedy generations; the CLI prints
// the same as JSON so golden files can be produced by scripts:
//
//   node tests/reference/runner.mjs generate --model DIR --messages FILE [--max-new-tokens 32]
//        [--dtype decoder_model_merged=q4,embed_tokens=quantized | --dtype fp32]
//   node tests/reference/runner.mjs render --model DIR --messages FILE
//
// FILE holds either a messages array or {"messages": [...], "images": [PATH...], "audio": [PATH...]}
// (paths relative to FILE). Message content follows the Hugging Face chat format: a string, or parts
// {type:"text", text}, {type:"image"}, {type:"audio"}; media are consumed in order.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  env,
  AutoProcessor,
  AutoModelForImageTextToText,
  RawImage,
  Tensor,
} from '@huggingface/transformers';

env.allowRemoteModels = false;
env.allowLocalModels = true;
env.useFSCache = false;
env.useBrowserCache = false;

const COMPONENTS = ['embed_tokens', 'decoder_model_merged', 'vision_encoder', 'audio_encoder'];

/**
 * Normalizes a dtype spec: a string for every component, an object per component, or a
 * "name=dtype,name=dtype" string. Unnamed components get fp32.
 */
export function parseDtype(spec) {
  if (spec == null || spec === '') spec = 'fp32';
  let map = {};
  if (typeof spec === 'object') {
    map = { ...spec };
  } else if (!spec.includes('=')) {
    for (const c of COMPONENTS) map[c] = spec;
  } else {
    for (const item of spec.split(',')) {
      const [k, v] = item.split('=').map((s) => s.trim());
      if (!k || !v) throw new Error(`bad dtype item "${item}"`);
      map[k] = v;
    }
  }
  for (const c of COMPONENTS) map[c] ??= 'fp32';
  return map;
}

// Loading touches env.localModelPath (global), so loads are serialized.
let loadChain = Promise.resolve();

/**
 * Loads a model folder: processor (tokenizer, chat template, image processor, feature extractor),
 * model sessions with the chosen dtypes, and config.
 * @param {string} dir model folder (config.json, onnx/...)
 * @param {{dtype?: string|Record<string,string>}} [opts]
 */
export async function loadReference(dir, { dtype } = {}) {
  const abs = path.resolve(dir);
  if (!fs.existsSync(path.join(abs, 'config.json'))) throw new Error(`${abs}: no config.json`);
  const dtypes = parseDtype(dtype);
  const job = loadChain.then(async () => {
    env.localModelPath = path.dirname(abs) + path.sep;
    const id = path.basename(abs);
    const processor = await AutoProcessor.from_pretrained(id);
    const model = await AutoModelForImageTextToText.from_pretrained(id, { dtype: dtypes, device: 'cpu' });
    return { dir: abs, dtypes, processor, model, config: model.config };
  });
  loadChain = job.catch(() => {});
  return job;
}

export async function disposeReference(ref) {
  await ref.model.dispose();
}

/** The prompt text the model's chat template renders (with the generation prompt). */
export function renderPrompt(ref, messages, { addGenerationPrompt = true } = {}) {
  return ref.processor.apply_chat_template(messages, { add_generation_prompt: addGenerationPrompt });
}

function countParts(messages, type) {
  let n = 0;
  for (const m of messages) {
    if (Array.isArray(m.content)) n += m.content.filter((p) => p.type === type).length;
  }
  return n;
}

/** A RawImage from a file path, a RawImage, or {data, width, height, channels}. */
export async function toRawImage(img) {
  if (img instanceof RawImage) return img;
  if (typeof img === 'string') return RawImage.read(img);
  if (img && img.data && img.width && img.height) {
    return new RawImage(img.data, img.width, img.height, img.channels ?? 3);
  }
  throw new Error('unsupported image input');
}

/** 16 kHz mono Float32Array from a Float32Array, or a WAV file path (PCM 16/32-bit or float). */
export function toAudio(audio) {
  if (audio instanceof Float32Array || audio instanceof Float64Array) return audio;
  if (typeof audio === 'string') return readWav(audio);
  throw new Error('unsupported audio input');
}

export function readWav(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${file}: not a RIFF/WAVE file`);
  }
  let off = 12;
  let fmt = null;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    const body = off + 8;
    if (id === 'fmt ') {
      fmt = {
        format: buf.readUInt16LE(body),
        channels: buf.readUInt16LE(body + 2),
        rate: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
      if (fmt.format === 0xfffe && size >= 26) fmt.format = buf.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (!fmt) throw new Error(`${file}: data before fmt`);
      if (fmt.rate !== 16000) throw new Error(`${file}: sample rate ${fmt.rate}, the runner needs 16000`);
      const bytes = fmt.bits / 8;
      const frames = Math.floor(Math.min(size, buf.length - body) / (bytes * fmt.channels));
      const out = new Float32Array(frames);
      for (let i = 0; i < frames; ++i) {
        let s = 0;
        for (let c = 0; c < fmt.channels; ++c) {
          const p = body + (i * fmt.channels + c) * bytes;
          if (fmt.format === 3 && fmt.bits === 32) s += buf.readFloatLE(p);
          else if (fmt.bits === 16) s += buf.readInt16LE(p) / 32768;
          else if (fmt.bits === 32) s += buf.readInt32LE(p) / 2147483648;
          else if (fmt.bits === 8) s += (buf.readUInt8(p) - 128) / 128;
          else throw new Error(`${file}: unsupported sample format`);
        }
        out[i] = s / fmt.channels;
      }
      return out;
    }
    off = body + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/**
 * Renders and tokenizes messages the way the reference does: template, media expansion, tokenize
 * without adding special tokens. Media: `images` (paths/RawImages) and `audio` (Float32Array/WAV
 * paths) go through the processor; or `pixelValues` [N,3,H,W] / `inputFeatures` [B,F,128] tensors
 * (with optional `inputFeaturesMask`) are used as given.
 * @returns model inputs (input_ids, attention_mask, pixel_values?, input_features?, ...)
 */
export async function encodeMessages(ref, messages, opts = {}) {
  const { images = [], audio = [], pixelValues = null, inputFeatures = null, inputFeaturesMask = null } = opts;
  const p = ref.processor;
  let text = renderPrompt(ref, messages);
  const nImg = countParts(messages, 'image');
  const nAud = countParts(messages, 'audio');
  const imgs = await Promise.all(images.map(toRawImage));
  const auds = audio.map(toAudio);
  if (!pixelValues && imgs.length !== nImg) throw new Error(`messages have ${nImg} image parts, ${imgs.length} images given`);
  if (!inputFeatures && auds.length !== nAud) throw new Error(`messages have ${nAud} audio parts, ${auds.length} clips given`);

  const out = {};
  if (pixelValues || inputFeatures) {
    // Tensors given directly: expand the placeholders like the processor does.
    if (pixelValues) {
      text = text.replaceAll(p.image_token, p.full_image_sequence);
      out.pixel_values = pixelValues;
    } else if (imgs.length) {
      Object.assign(out, await p.image_processor(imgs.length === 1 ? imgs[0] : imgs));
      text = text.replaceAll(p.image_token, p.full_image_sequence);
    }
    if (inputFeatures) {
      text = text.replaceAll(p.audio_token, p.full_audio_sequence);
      out.input_features = inputFeatures;
      out.input_features_mask =
        inputFeaturesMask ?? new Tensor('bool', new Uint8Array(inputFeatures.dims[0] * inputFeatures.dims[1]).fill(1), inputFeatures.dims.slice(0, 2));
    } else if (auds.length) {
      if (auds.length > 1) throw new Error('the reference processor takes one audio clip per prompt');
      Object.assign(out, await p.feature_extractor(auds[0]));
      text = text.replaceAll(p.audio_token, p.full_audio_sequence);
    }
    Object.assign(out, p.tokenizer(text, { add_special_tokens: false }));
    return { text, inputs: out };
  }
  if (auds.length > 1) throw new Error('the reference processor takes one audio clip per prompt');
  const imageArg = imgs.length ? (imgs.length === 1 ? imgs[0] : imgs) : null;
  // Processors with an audio front end take (text, images, audio, options); LlavaProcessor takes
  // (images, text, options); the others (text, images, options).
  const inputs = p.feature_extractor
    ? await p(text, imageArg, auds.length ? auds[0] : null, { add_special_tokens: false })
    : p.constructor.name === 'LlavaProcessor'
      ? await p(imageArg, text, { add_special_tokens: false })
      : await p(text, imageArg, { add_special_tokens: false });
  return { text, inputs };
}

/** Prompt ids (numbers) of messages, media expanded. */
export async function promptIds(ref, messages, opts = {}) {
  const { inputs } = await encodeMessages(ref, messages, opts);
  return Array.from(inputs.input_ids.data, Number);
}

/**
 * Greedy generation of up to `maxNewTokens` tokens. Stops on generation_config's eos ids like the
 * reference does (the stop id is included in `generatedIds`).
 * @returns {{promptIds:number[], generatedIds:number[], text:string, prompt:string}}
 */
export async function generateGreedy(ref, messages, opts = {}) {
  const { maxNewTokens = 16 } = opts;
  const { text: prompt, inputs } = await encodeMessages(ref, messages, opts);
  const out = await ref.model.generate({
    ...inputs,
    max_new_tokens: maxNewTokens,
    do_sample: false,
  });
  const all = Array.from(out.data, Number);
  const n = inputs.input_ids.dims.at(-1);
  const generatedIds = all.slice(n);
  const text = ref.processor.tokenizer.decode(generatedIds, { skip_special_tokens: true });
  return { promptIds: all.slice(0, n), generatedIds, text, prompt };
}

// ---------------------------------------------------------------------------------------------
// CLI

function parseArgs(argv) {
  const args = { _: [] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const key = a.slice(2);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) args[key] = true;
      else {
        args[key] = next;
        ++i;
      }
    } else args._.push(a);
  }
  return args;
}

function readMessagesFile(file) {
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  const base = path.dirname(path.resolve(file));
  const spec = Array.isArray(doc) ? { messages: doc } : doc;
  const rel = (p) => (path.isAbsolute(p) ? p : path.join(base, p));
  return {
    messages: spec.messages,
    images: (spec.images ?? []).map(rel),
    audio: (spec.audio ?? []).map(rel),
  };
}

async function cli(argv) {
  const args = parseArgs(argv);
  const cmd = args._[0];
  if (!['generate', 'render', 'ids'].includes(cmd) || !args.model || !args.messages) {
    console.error(
      'usage: runner.mjs generate|render|ids --model DIR --messages FILE [--max-new-tokens N] [--dtype SPEC]',
    );
    return 2;
  }
  const ref = await loadReference(args.model, { dtype: args.dtype });
  const { messages, images, audio } = readMessagesFile(args.messages);
  let result;
  if (cmd === 'render') {
    result = { prompt: renderPrompt(ref, messages) };
  } else if (cmd === 'ids') {
    const { text, inputs } = await encodeMessages(ref, messages, { images, audio });
    result = { prompt: text, prompt_ids: Array.from(inputs.input_ids.data, Number) };
  } else {
    const maxNewTokens = Number(args['max-new-tokens'] ?? 32);
    const r = await generateGreedy(ref, messages, { images, audio, maxNewTokens });
    result = {
      model: path.basename(ref.dir),
      dtype: ref.dtypes,
      prompt: r.prompt,
      prompt_ids: r.promptIds,
      generated_ids: r.generatedIds,
      text: r.text,
    };
  }
  await disposeReference(ref);
  process.stdout.write(JSON.stringify(result) + '\n');
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err?.stack ?? String(err));
      process.exit(1);
    },
  );
}
