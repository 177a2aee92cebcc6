// Helpers of the media parity tests: the Gemma-3n preprocessor config, test-image and test-clip
// generation (sharp, sox, espeak-ng), WAV reading, and tensor comparison.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { binPath } from './paths.mjs';

// preprocessor_config.json of onnx-community/gemma-3n-E2B-it-ONNX (the fields that matter).
export const gemma3nPreprocessorConfig = {
  processor_class: 'Gemma3nProcessor',
  image_processor_type: 'SiglipImageProcessorFast',
  feature_extractor_type: 'Gemma3nAudioFeatureExtractor',
  do_convert_rgb: null,
  do_normalize: false,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  resample: 2,
  rescale_factor: 0.00392156862745098,
  size: { height: 768, width: 768 },
  image_seq_length: 256,
  sampling_rate: 16000,
  feature_size: 128,
  frame_length: 512,
  hop_length: 160,
  fft_length: 1024,
  fft_overdrive: true,
  min_frequency: 125.0,
  max_frequency: 7600.0,
  mel_floor: 1e-5,
  preemphasis: 0.97,
  preemphasis_htk_flavor: true,
  padding_value: 0.0,
  padding_side: 'right',
  dither: 0.0,
  input_scale_factor: 1.0,
  per_bin_mean: null,
  per_bin_stddev: null,
  return_attention_mask: true,
};

// The media-dump tool built beside the onnx-chat binary.
export function mediaDumpPath() {
  return process.env.ONNX_CHAT_MEDIA_DUMP || path.join(path.dirname(binPath()), 'media-dump');
}

// Runs media-dump; returns { shape, data: Float32Array|Uint8Array } or { error, status }.
export function mediaDump(args, outFile, { bytes = false } = {}) {
  try {
    const stdout = execFileSync(mediaDumpPath(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const { shape } = JSON.parse(stdout);
    const buf = fs.readFileSync(outFile);
    const data = bytes
      ? new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
      : new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
    return { shape, data };
  } catch (e) {
    return { error: String(e.stderr || e.message).trim(), status: e.status };
  }
}

export function compare(actual, expected) {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let max = 0;
  let sum = 0;
  let over = 0;
  for (let i = 0; i < actual.length; ++i) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= max)) max = d; // NaN-safe
    sum += d;
    if (d > 1e-6) ++over;
  }
  return { max, mean: sum / actual.length, differing: over / actual.length };
}

// A deterministic test picture: smooth gradients, rings, fine stripes and a little noise, so that
// both resampling and colour handling show.
export function testPattern(width, height, channels = 3, seed = 1) {
  const data = new Uint8Array(width * height * channels);
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 31;
  const cx = width / 2;
  const cy = height / 2;
  for (let y = 0; y < height; ++y) {
    for (let x = 0; x < width; ++x) {
      const r = Math.hypot(x - cx, y - cy);
      const i = (y * width + x) * channels;
      const v = [
        (255 * x) / Math.max(1, width - 1),
        (255 * y) / Math.max(1, height - 1),
        127.5 + 127.5 * Math.sin(r / 7),
        255 * (0.5 + 0.5 * Math.cos((x + 2 * y) / 3)),
      ];
      for (let c = 0; c < channels; ++c) {
        const base = channels === 1 ? 0.5 * v[0] + 0.5 * v[2] : v[c];
        data[i + c] = Math.max(0, Math.min(255, Math.round(base + rnd() - 16)));
      }
      if (channels === 4) data[i + 3] = Math.round((255 * x) / Math.max(1, width - 1)); // alpha ramp
    }
  }
  return data;
}

// A 24-bit uncompressed BMP (bottom-up) of RGB pixels.
export function encodeBmp(rgb, width, height) {
  const row = Math.ceil((width * 3) / 4) * 4;
  const size = 54 + row * height;
  const b = Buffer.alloc(size);
  b.write('BM', 0);
  b.writeUInt32LE(size, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * height, 34);
  for (let y = 0; y < height; ++y) {
    const dst = 54 + (height - 1 - y) * row;
    for (let x = 0; x < width; ++x) {
      const s = (y * width + x) * 3;
      b[dst + x * 3] = rgb[s + 2];
      b[dst + x * 3 + 1] = rgb[s + 1];
      b[dst + x * 3 + 2] = rgb[s];
    }
  }
  return b;
}

// Float samples of a mono or multi-channel WAV (PCM 16/24/32 or float 32), channels interleaved.
export function readWav(file) {
  const b = fs.readFileSync(file);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${file}: not WAV`);
  let pos = 12;
  let fmt = null;
  while (pos + 8 <= b.length) {
    const id = b.toString('ascii', pos, pos + 4);
    const len = b.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === 'fmt ') {
      let format = b.readUInt16LE(body);
      if (format === 0xfffe) format = b.readUInt16LE(body + 24); // WAVE_FORMAT_EXTENSIBLE
      fmt = { format, channels: b.readUInt16LE(body + 2), rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      const n = Math.floor(Math.min(len, b.length - body) / (fmt.bits / 8));
      const out = new Float32Array(n);
      for (let i = 0; i < n; ++i) {
        const o = body + (i * fmt.bits) / 8;
        if (fmt.format === 3) out[i] = b.readFloatLE(o);
        else if (fmt.bits === 16) out[i] = b.readInt16LE(o) / 32768;
        else if (fmt.bits === 24) out[i] = b.readIntLE(o, 3) / 8388608;
        else out[i] = b.readInt32LE(o) / 2147483648;
      }
      return { ...fmt, samples: out };
    }
    pos = body + len + (len & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

export function sox(args) {
  execFileSync('sox', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function haveTool(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
