// input_features of the C++ media layer (decode + downmix + resample + log-mel, through
// build/media-dump) against transformers.js' Gemma3nAudioFeatureExtractor with the Gemma-3n
// config. Clips are generated here with sox and espeak-ng. The reference waveform is the clip
// converted by sox to 16 kHz mono float (sox's own resampler and an explicit channel average), so
// for clips not already at 16 kHz the comparison also covers the resampler. Tolerances:
// docs/media.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Gemma3nAudioFeatureExtractor } from '@huggingface/transformers';
import { compare, gemma3nPreprocessorConfig, haveTool, mediaDump, readWav, sox } from '../lib/media.mjs';

let dir;
let configPath;
const extractor = new Gemma3nAudioFeatureExtractor(gemma3nPreprocessorConfig);
const tools = haveTool('sox') && haveTool('espeak-ng');

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-media-audio-'));
  configPath = path.join(dir, 'preprocessor_config.json');
  fs.writeFileSync(configPath, JSON.stringify(gemma3nPreprocessorConfig));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const speech = 'The quick brown fox jumps over the lazy dog. Testing one two three.';

// name, make(file) writes the clip; native: already 16 kHz mono (exact comparison expected).
const clips = [
  {
    name: 'speech, espeak-ng 22.05 kHz mono',
    ext: 'wav',
    make: (f) => execFileSync('espeak-ng', ['-w', f, speech], { stdio: 'ignore' }),
  },
  { name: 'tones, 8 kHz mono 3 s', ext: 'wav', upsampled: true, make: (f) => sox(['-n', '-r', '8000', '-b', '16', f, 'synth', '3', 'sine', '300-3000', 'vol', '0.5']) },
  {
    name: 'tones + noise, 44.1 kHz stereo 5 s',
    ext: 'wav',
    make: (f) => sox(['-n', '-r', '44100', '-c', '2', '-b', '16', f, 'synth', '5', 'sine', '440', 'pinknoise', 'vol', '0.4']),
  },
  {
    name: 'chirp, 48 kHz stereo 60 s (truncated at 30 s)',
    ext: 'wav',
    make: (f) => sox(['-n', '-r', '48000', '-c', '2', '-b', '16', f, 'synth', '60', 'sine', '100-7000', 'sine', '200-300', 'vol', '0.3']),
  },
  { name: 'short, 16 kHz mono 0.5 s', ext: 'wav', native: true, make: (f) => sox(['-n', '-r', '16000', '-b', '16', f, 'synth', '0.5', 'sine', '1000', 'vol', '0.5']) },
  { name: 'silence, 16 kHz mono 2 s', ext: 'wav', native: true, make: (f) => sox(['-n', '-r', '16000', '-b', '16', f, 'trim', '0', '2']) },
  {
    name: 'clipping, 16 kHz mono 2 s (+20 dB)',
    ext: 'wav',
    native: true,
    make: (f) => sox(['-n', '-r', '16000', '-b', '16', f, 'synth', '2', 'square', '220', 'sine', '880', 'gain', '20']),
  },
  {
    name: 'frame-count edge, 16 kHz mono 16512 samples',
    ext: 'wav',
    native: true,
    make: (f) => sox(['-r', '16000', '-n', '-b', '16', f, 'synth', '16512s', 'whitenoise', 'vol', '0.2']),
    frames: 101, // transformers.js; Python's unfold(513) gives 100
  },
  { name: 'noise, 32 kHz mono float 1.7 s', ext: 'wav', make: (f) => sox(['-n', '-r', '32000', '-e', 'floating-point', '-b', '32', f, 'synth', '1.7', 'brownnoise', 'vol', '0.5']) },
  {
    // Long enough for the multithreaded path (LogMelOptions::threads 0 splits clips of >= 1024 frames).
    name: 'tones + noise, 16 kHz mono 30 s',
    ext: 'wav',
    native: true,
    make: (f) => sox(['-n', '-r', '16000', '-b', '16', f, 'synth', '30', 'sine', '150-6000', 'pinknoise', 'vol', '0.3']),
  },
  { name: 'FLAC, 16 kHz mono 4 s', ext: 'flac', native: true, make: (f) => sox(['-n', '-r', '16000', '-b', '16', f, 'synth', '4', 'pluck', 'C4', 'vol', '0.7']) },
  {
    // Vorbis leaves most of a pure tone's spectrum empty, where sox's 16-bit decode adds
    // quantization noise above the log floor: the clip carries noise so the bins hold signal.
    name: 'Ogg Vorbis, 44.1 kHz stereo 3 s',
    ext: 'ogg',
    make: (f) => sox(['-n', '-r', '44100', '-c', '2', f, 'synth', '3', 'sine', '600', 'pinknoise', 'vol', '0.5']),
  },
];

for (const c of clips) {
  test(`input_features parity: ${c.name}`, { skip: !tools && 'sox / espeak-ng not installed' }, async () => {
    const file = path.join(dir, c.name.replace(/[^a-z0-9]+/gi, '_') + '.' + c.ext);
    c.make(file);
    // Reference waveform: 16 kHz mono float by sox (channel average, then sox's resampler).
    const ref = file + '.ref.wav';
    const info = execFileSync('soxi', [file], { encoding: 'utf8' });
    const channels = Number(/Channels\s*:\s*(\d+)/.exec(info)[1]);
    const rate = Number(/Sample Rate\s*:\s*(\d+)/.exec(info)[1]);
    const effects = [];
    if (channels > 1) effects.push('remix', Array.from({ length: channels }, (_, i) => `${i + 1}v${1 / channels}`).join(','));
    if (rate !== 16000) effects.push('rate', '-v', '16000');
    sox([file, '-e', 'floating-point', '-b', '32', ref, ...effects]);
    const wav = readWav(ref);
    assert.equal(wav.rate, 16000);
    const want = (await extractor(wav.samples)).input_features;

    const out = file + '.f32';
    const got = mediaDump(['audio', configPath, file, out], out);
    assert.ok(!got.error, got.error);
    assert.deepEqual(got.shape, want.dims);
    if (c.frames) assert.equal(want.dims[1], c.frames);
    const d = compare(got.data, want.data);
    console.log(
      `# parity ${c.name.padEnd(46)} ${String(want.dims[1]).padStart(5)} frames  max ${d.max.toExponential(2)}  mean ${d.mean.toExponential(2)}`,
    );
    if (c.native) {
      // Same samples on both sides: only float rounding (FFT order, the order of the float32 mel
      // sums) differs, by one float32 ulp at most (9.5e-7 for values of magnitude 8 to 16).
      assert.ok(d.max <= 1e-6, `${c.name}: max abs diff ${d.max}`);
      assert.ok(d.mean <= 1e-7, `${c.name}: mean abs diff ${d.mean}`);
    } else {
      // Different resamplers (libsoxr VHQ vs sox rate -v): log-mel differs where the signal is
      // near the 1e-5 floor, most above the source's Nyquist frequency when upsampling.
      assert.ok(d.max <= (c.upsampled ? 0.5 : 0.1), `${c.name}: max abs diff ${d.max}`);
      assert.ok(d.mean <= (c.upsampled ? 5e-3 : 2e-3), `${c.name}: mean abs diff ${d.mean}`);
    }
  });
}
