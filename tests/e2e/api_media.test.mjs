// Images and audio through the HTTP API on the tiny Gemma-3n fixture (it has a vision and an audio
// encoder): chat with image data URIs (openai SDK, streaming, the legacy `images` field, file:// and
// http:// sources), chat with input_audio, /v1/audio/transcriptions in every response format and
// streamed, bad media (each a 400 naming the problem, then a normal request still succeeds), and a
// copy of the fixture without encoders (400 naming the modality). Media is generated here: images
// with sharp, audio with sox / espeak-ng (MP3 through build/audio-encode).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import OpenAI, { toFile } from 'openai';
import sharp from 'sharp';
import { startServer, post, parseSSE, fixtureModel } from '../lib/server.mjs';
import { testImage } from '../lib/fixtures.mjs';
import { encodeBmp, haveTool, readWav, testPattern } from '../lib/media.mjs';
import { binPath } from '../lib/paths.mjs';

const MODEL = 'gemma3n-tiny';
const MAX_IMAGES = 4;
const MAX_AUDIO_SECONDS = 60;
const haveAudioTools = haveTool('sox') && haveTool('espeak-ng');
const audioEncode = path.join(path.dirname(binPath()), 'audio-encode');

let server;
let client;
let tmp; // generated media; the folder file:// URLs may read
let outside; // a folder they may not
let httpServer; // serves images for http:// URLs
let httpBase;
const media = {};

const b64 = (buf) => Buffer.from(buf).toString('base64');
const dataUri = (type, buf) => `data:${type};base64,${b64(buf)}`;
const imagePart = (url) => ({ type: 'image_url', image_url: { url } });
const audioPart = (buf, format = 'wav') => ({ type: 'input_audio', input_audio: { data: b64(buf), format } });
const userTurn = (...parts) => [{ role: 'user', content: parts }];

async function encodeImage(k, format, width = 64, height = 48) {
  const { data, channels } = testImage(k, width, height);
  const img = sharp(Buffer.from(data), { raw: { width, height, channels } });
  return img.toFormat(format).toBuffer();
}

function sox(args) {
  execFileSync('sox', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// A clip written by sox (output format options, then effects); returns its bytes.
function soxClip(name, format, effects) {
  const file = path.join(tmp, name);
  sox(['-n', ...format, file, ...effects]);
  return fs.readFileSync(file);
}

// The signature and IHDR chunk of a PNG that claims width x height pixels (no pixel data).
function pngHeader(width, height) {
  const ihdr = Buffer.alloc(17);
  ihdr.write('IHDR', 0, 'ascii');
  ihdr.writeUInt32BE(width, 4);
  ihdr.writeUInt32BE(height, 8);
  ihdr.set([8, 2, 0, 0, 0], 12); // 8-bit RGB
  const len = Buffer.alloc(4);
  len.writeUInt32BE(13);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(ihdr));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), len, ihdr, crc]);
}

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; ++k) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

function assertError(r, status, { param, code, message } = {}) {
  assert.equal(r.status, status, `status ${r.status}: ${r.text}`);
  assert.ok(r.json && typeof r.json.error === 'object', `not an OpenAI error body: ${r.text}`);
  const e = r.json.error;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(e.type, 'invalid_request_error');
  if (param !== undefined) assert.equal(e.param, param, r.text);
  if (code !== undefined) assert.equal(e.code, code, r.text);
  if (message !== undefined) assert.match(e.message, message);
}

const chat = (body) => post(server, '/v1/chat/completions', { model: MODEL, max_tokens: 4, ...body });

async function assertStillServing(s = server) {
  const r = await post(s, '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
  assert.equal(r.status, 200, `follow-up request failed: ${r.text}`);
}

/** POST multipart/form-data (what `curl -F` sends); returns {status, json, text, headers}. */
async function postForm(s, route, fields) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    if (v && v.bytes) form.append(k, new Blob([v.bytes], { type: v.type ?? 'application/octet-stream' }), v.name);
    else form.append(k, String(v));
  }
  const r = await fetch(`${s.url}${route}`, { method: 'POST', body: form });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, json, text, headers: r.headers };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-media-e2e-'));
  outside = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-media-outside-'));
  media.png = await encodeImage(0, 'png');
  media.jpeg = await encodeImage(1, 'jpeg');
  media.webp = await encodeImage(3, 'webp');
  fs.writeFileSync(path.join(tmp, 'cat.png'), media.png);
  fs.writeFileSync(path.join(outside, 'secret.png'), media.png);
  fs.symlinkSync(path.join(outside, 'secret.png'), path.join(tmp, 'link.png'));
  if (haveAudioTools) {
    const mono16k = ['-r', '16000', '-c', '1', '-b', '16'];
    media.tone = soxClip('tone.wav', mono16k, ['synth', '2', 'sine', '440']);
    const speech = path.join(tmp, 'speech.wav');
    execFileSync('espeak-ng', ['-w', speech, 'The quick brown fox jumps over the lazy dog.']);
    media.speech = fs.readFileSync(speech);
    execFileSync(audioEncode, [speech, path.join(tmp, 'speech.mp3'), 'mp3']);
    media.mp3 = fs.readFileSync(path.join(tmp, 'speech.mp3'));
    // 45 s: two encoder windows of 30 s.
    media.long = soxClip('long.wav', mono16k, ['synth', '45', 'sine', '300:900']);
    media.tooLong = soxClip('toolong.wav', ['-r', '8000', '-c', '1', '-b', '16'], ['synth', String(MAX_AUDIO_SECONDS + 1), 'sine', '440']);
    const { samples, rate } = readWav(speech);
    media.speechSeconds = samples.length / rate;
  }
  httpServer = http.createServer((req, res) => {
    if (req.url === '/cat.png') {
      res.writeHead(200, { 'Content-Type': 'image/png' });
      res.end(media.png);
    } else {
      res.writeHead(404);
      res.end('no');
    }
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  httpBase = `http://127.0.0.1:${httpServer.address().port}`;

  server = await startServer({
    args: [
      '--max-images', String(MAX_IMAGES),
      '--max-audio-clips', '2',
      '--max-audio-seconds', String(MAX_AUDIO_SECONDS),
      '--media-file-allow', tmp,
      '--media-url-allow', '127.0.0.1',
    ],
  });
  client = new OpenAI({ baseURL: server.baseURL, apiKey: 'not-needed', maxRetries: 0 });
});

after(async () => {
  const r = await server?.stop();
  httpServer?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (outside) fs.rmSync(outside, { recursive: true, force: true });
  assert.equal(r?.code, 0, `server exit: ${JSON.stringify(r)}\n${server?.logs()}`);
});

describe('/v1/models', () => {
  test('reports per modality whether it is supported and whether its encoder is loaded', async () => {
    const m = await client.models.retrieve(MODEL);
    assert.deepEqual(m.modalities.text, { supported: true, loaded: true });
    assert.equal(m.modalities.image.supported, true);
    assert.equal(m.modalities.audio.supported, true);
    assert.equal(typeof m.modalities.image.loaded, 'boolean');
  });
});

describe('images', () => {
  let single; // image tokens of one image

  test('one image (PNG data URI) with the openai SDK', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      max_tokens: 4,
      messages: userTurn({ type: 'text', text: 'What is in this picture?' }, imagePart(dataUri('image/png', media.png))),
    });
    assert.equal(r.object, 'chat.completion');
    assert.equal(typeof r.choices[0].message.content, 'string');
    single = r.usage.prompt_tokens_details.image_tokens;
    assert.ok(single > 0, JSON.stringify(r.usage));
    assert.ok(r.usage.prompt_tokens > single);
    assert.equal(r.timings.media_encoded + r.timings.media_cache_hits, 1, JSON.stringify(r.timings));
    const m = await client.models.retrieve(MODEL);
    assert.equal(m.modalities.image.loaded, true, 'the vision encoder is loaded after an image request');
    assert.equal(m.components.find((c) => c.name === 'vision_encoder')?.loaded, true, JSON.stringify(m.components));
  });

  test('three images (PNG, JPEG, WebP) in one message', async () => {
    const r = await client.chat.completions.create({
      model: MODEL,
      max_tokens: 4,
      messages: userTurn(
        imagePart(dataUri('image/png', media.png)),
        imagePart(dataUri('image/jpeg', media.jpeg)),
        { type: 'text', text: 'Compare these.' },
        imagePart(dataUri('image/webp', media.webp)),
      ),
    });
    const tokens = r.usage.prompt_tokens_details.image_tokens;
    assert.ok(tokens > 0, JSON.stringify(r.usage));
    if (single) assert.equal(tokens, 3 * single);
    assert.equal(r.timings.media_encoded + r.timings.media_cache_hits, 3, JSON.stringify(r.timings));
  });

  test('a multi-turn chat about one image encodes it once (prefix cache, then encoder cache)', async () => {
    // A fresh image (not sent by another test), then a second turn that keeps it in the history.
    const uri = dataUri('image/bmp', encodeBmp(testPattern(120, 80, 3, 77), 120, 80));
    const turn1 = userTurn(imagePart(uri), { type: 'text', text: 'What is this?' });
    const cacheBytes = async () =>
      Number((await (await fetch(`${server.url}/metrics`)).text()).match(/^onnx_chat_encoder_cache_bytes (\S+)$/m)[1]);
    const before = await cacheBytes();
    const r1 = await client.chat.completions.create({ model: MODEL, max_tokens: 3, temperature: 0, messages: turn1 });
    assert.equal(r1.timings.media_encoded, 1, JSON.stringify(r1.timings));
    assert.ok((await cacheBytes()) > before, 'the encoder cache gauge counts the new output');
    assert.equal(r1.timings.media_cache_hits, 0);
    assert.ok(r1.timings.encode_image_ms > 0);
    const r2 = await client.chat.completions.create({
      model: MODEL,
      max_tokens: 3,
      temperature: 0,
      messages: [...turn1, { role: 'assistant', content: r1.choices[0].message.content },
        { role: 'user', content: 'And its colours?' }],
    });
    // The second turn starts with the first: the image's rows come with the reused prefix.
    assert.equal(r2.timings.media_encoded, 0, 'no vision encoder run on the second turn');
    assert.equal(r2.timings.encode_image_ms, 0);
    assert.equal(r2.usage.prompt_tokens_details.image_tokens, r1.usage.prompt_tokens_details.image_tokens);
    assert.ok(r2.usage.prompt_tokens_details.cached_tokens > r2.usage.prompt_tokens_details.image_tokens,
      JSON.stringify(r2.usage));
    // Another conversation about the same image differs before it: its encoder output is cached.
    const r3 = await client.chat.completions.create({
      model: MODEL,
      max_tokens: 3,
      temperature: 0,
      messages: [{ role: 'system', content: 'Answer briefly.' }, ...turn1],
    });
    assert.equal(r3.timings.media_encoded, 0, JSON.stringify(r3.timings));
    assert.equal(r3.timings.media_cache_hits, 1);
    assert.equal(r3.timings.encode_image_ms, 0);
  });

  test('streaming with an image', async () => {
    const stream = await client.chat.completions.create({
      model: MODEL,
      max_tokens: 4,
      stream: true,
      stream_options: { include_usage: true },
      messages: userTurn(imagePart(dataUri('image/png', media.png)), { type: 'text', text: 'Describe it.' }),
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.ok(last.usage.prompt_tokens_details.image_tokens > 0, JSON.stringify(last.usage));
  });

  test('the legacy top-level images field (base64 and data URI) equals image_url parts', async () => {
    const legacy = await chat({
      messages: [{ role: 'user', content: 'Describe these.' }],
      images: [b64(media.png), dataUri('image/jpeg', media.jpeg)],
      return_token_ids: true,
      temperature: 0,
    });
    assert.equal(legacy.status, 200, legacy.text);
    const parts = await chat({
      messages: userTurn({ type: 'text', text: 'Describe these.' }, imagePart(dataUri('image/png', media.png)), imagePart(dataUri('image/jpeg', media.jpeg))),
      return_token_ids: true,
      temperature: 0,
    });
    assert.equal(parts.status, 200, parts.text);
    assert.ok(legacy.json.usage.prompt_tokens_details.image_tokens > 0);
    assert.deepEqual(legacy.json.prompt_token_ids, parts.json.prompt_token_ids);
    assert.deepEqual(legacy.json.choices[0].token_ids, parts.json.choices[0].token_ids);
  });

  test('file:// inside the allowed folder and http:// from an allowed host', async () => {
    const viaFile = await chat({ messages: userTurn(imagePart(`file://${path.join(tmp, 'cat.png')}`)), return_token_ids: true, temperature: 0 });
    assert.equal(viaFile.status, 200, viaFile.text);
    const viaHttp = await chat({ messages: userTurn(imagePart(`${httpBase}/cat.png`)), return_token_ids: true, temperature: 0 });
    assert.equal(viaHttp.status, 200, viaHttp.text);
    const inline = await chat({ messages: userTurn(imagePart(dataUri('image/png', media.png))), return_token_ids: true, temperature: 0 });
    assert.deepEqual(viaFile.json.choices[0].token_ids, inline.json.choices[0].token_ids);
    assert.deepEqual(viaHttp.json.choices[0].token_ids, inline.json.choices[0].token_ids);
  });
});

describe('bad images: 400 naming the problem, and the server keeps serving', () => {
  const one = (url) => chat({ messages: userTurn({ type: 'text', text: 'look' }, imagePart(url)) });
  const P = 'messages[0].content[1]';

  test('not base64', async () => {
    assertError(await one('data:image/png;base64,@@not base64@@'), 400, { param: P, code: 'invalid_image', message: /base64/ });
    await assertStillServing();
  });

  test('not an image', async () => {
    assertError(await one(dataUri('image/png', Buffer.from('hello, I am text'))), 400, { param: P, message: /not an image/ });
    await assertStillServing();
  });

  test('truncated PNG', async () => {
    const big = await encodeImage(0, 'png', 256, 256);
    const r = await one(dataUri('image/png', big.subarray(0, Math.floor(big.length / 2))));
    assertError(r, 400, { param: P, message: /truncated|corrupt/i });
    await assertStillServing();
  });

  test('zero-size data', async () => {
    assertError(await one('data:image/png;base64,'), 400, { param: P, message: /empty/ });
    await assertStillServing();
  });

  test('a 30000x30000 PNG header fails from the header', async () => {
    const r = await one(dataUri('image/png', pngHeader(30000, 30000)));
    assertError(r, 400, { param: P, message: /30000x30000.*limit/ });
    await assertStillServing();
  });

  test('too many images', async () => {
    const parts = Array.from({ length: MAX_IMAGES + 1 }, () => imagePart(dataUri('image/png', media.png)));
    const r = await chat({ messages: userTurn(...parts) });
    assertError(r, 400, { param: `messages[0].content[${MAX_IMAGES}]`, code: 'too_many_images', message: /--max-images/ });
    const legacy = await chat({ messages: [{ role: 'user', content: 'x' }], images: parts.map(() => b64(media.png)) });
    assertError(legacy, 400, { param: `images[${MAX_IMAGES}]`, code: 'too_many_images' });
    await assertStillServing();
  });

  test('legacy images without a user message', async () => {
    assertError(await chat({ messages: [{ role: 'system', content: 's' }], images: [b64(media.png)] }), 400, { param: 'images' });
    await assertStillServing();
  });

  test('URLs outside the allow-lists', async () => {
    assertError(await one('https://example.com/cat.png'), 400, { param: P, message: /allow-list/ });
    assertError(await one(`${httpBase}/missing.png`), 400, { param: P, message: /404/ });
    assertError(await one(`file://${path.join(outside, 'secret.png')}`), 400, { param: P, message: /outside/ });
    assertError(await one(`file://${tmp}/../${path.basename(outside)}/secret.png`), 400, { param: P, message: /outside/ });
    assertError(await one(`file://${path.join(tmp, 'link.png')}`), 400, { param: P, message: /outside/ });
    await assertStillServing();
  });
});

describe('audio', { skip: !haveAudioTools && 'sox / espeak-ng not installed' }, () => {
  test('chat with input_audio (WAV), then the same clip again from the prefix and encoder caches', async () => {
    // The first audio chat of this server: the clip is encoded; the second time it is a cache hit.
    const ask = (system = []) =>
      client.chat.completions.create({
        model: MODEL,
        max_tokens: 4,
        temperature: 0,
        messages: [...system, ...userTurn(audioPart(media.speech), { type: 'text', text: 'What is said here?' })],
      });
    const r = await ask();
    assert.equal(r.object, 'chat.completion');
    assert.ok(r.usage.prompt_tokens_details.audio_tokens > 0, JSON.stringify(r.usage));
    assert.equal(r.timings.media_encoded, 1, JSON.stringify(r.timings));
    assert.equal(r.timings.media_cache_hits, 0, JSON.stringify(r.timings));
    assert.ok(r.timings.encode_audio_ms > 0, JSON.stringify(r.timings));
    // The same request again: its prompt, clip included, comes from the prefix cache.
    const again = await ask();
    assert.equal(again.timings.media_encoded, 0, 'no audio encoder run for a clip seen before');
    assert.equal(again.timings.encode_audio_ms, 0);
    assert.equal(again.usage.prompt_tokens_details.audio_tokens, r.usage.prompt_tokens_details.audio_tokens);
    assert.ok(again.usage.prompt_tokens_details.cached_tokens > again.usage.prompt_tokens_details.audio_tokens);
    assert.deepEqual(again.choices[0].message, r.choices[0].message);
    // A prompt that differs before the clip: the clip's encoder output is cached.
    const other = await ask([{ role: 'system', content: 'Answer briefly.' }]);
    assert.equal(other.timings.media_encoded, 0, JSON.stringify(other.timings));
    assert.equal(other.timings.media_cache_hits, 1, JSON.stringify(other.timings));
    assert.equal(other.timings.encode_audio_ms, 0);
  });

  test('transcriptions.create with a WAV and an MP3', async () => {
    for (const [name, bytes, type] of [['speech.wav', media.speech, 'audio/wav'], ['speech.mp3', media.mp3, 'audio/mpeg']]) {
      const r = await client.audio.transcriptions.create({ model: MODEL, file: await toFile(bytes, name, { type }) });
      assert.equal(typeof r.text, 'string', `${name}: ${JSON.stringify(r)}`);
      assert.equal(r.usage.type, 'tokens');
      assert.ok(r.usage.input_token_details.audio_tokens > 0, `${name}: ${JSON.stringify(r.usage)}`);
    }
  });

  test('response formats text, verbose_json, srt and vtt agree (greedy)', async () => {
    const file = () => toFile(media.speech, 'speech.wav', { type: 'audio/wav' });
    const verbose = await client.audio.transcriptions.create({ model: MODEL, file: await file(), response_format: 'verbose_json', language: 'en' });
    assert.equal(verbose.task, 'transcribe');
    assert.equal(verbose.language, 'english');
    assert.ok(Math.abs(verbose.duration - media.speechSeconds) < 0.05, `${verbose.duration} vs ${media.speechSeconds}`);
    assert.equal(verbose.segments.length, 1);
    assert.equal(verbose.segments[0].start, 0);
    assert.ok(Math.abs(verbose.segments[0].end - verbose.duration) < 1e-6);
    const text = await client.audio.transcriptions.create({ model: MODEL, file: await file(), response_format: 'text', language: 'en' });
    assert.equal(text, `${verbose.text}\n`);
    const cues = verbose.segments.filter((s) => s.text.length > 0);
    const time = (s, sep) => {
      const ms = Math.round(s * 1000);
      const p = (n, w = 2) => String(n).padStart(w, '0');
      return `${p(Math.floor(ms / 3600000))}:${p(Math.floor(ms / 60000) % 60)}:${p(Math.floor(ms / 1000) % 60)}${sep}${p(ms % 1000, 3)}`;
    };
    const srt = await client.audio.transcriptions.create({ model: MODEL, file: await file(), response_format: 'srt', language: 'en' });
    assert.equal(srt, cues.map((s, i) => `${i + 1}\n${time(s.start, ',')} --> ${time(s.end, ',')}\n${s.text}\n\n`).join(''));
    const vtt = await client.audio.transcriptions.create({ model: MODEL, file: await file(), response_format: 'vtt', language: 'en' });
    assert.equal(vtt, `WEBVTT\n\n${cues.map((s) => `${time(s.start, '.')} --> ${time(s.end, '.')}\n${s.text}\n\n`).join('')}`);
  });

  test('audio longer than one encoder window gives one segment per window', async () => {
    const r = await client.audio.transcriptions.create({
      model: MODEL,
      file: await toFile(media.long, 'long.wav', { type: 'audio/wav' }),
      response_format: 'verbose_json',
    });
    assert.equal(r.segments.length, 2, JSON.stringify(r.segments.map((s) => [s.start, s.end])));
    assert.equal(r.segments[0].start, 0);
    assert.ok(r.segments[0].end <= 30 && r.segments[0].end > 25);
    assert.ok(Math.abs(r.segments[1].end - 45) < 1e-6);
    assert.ok(Math.abs(r.duration - 45) < 1e-6);
  });

  test('streamed transcription: transcript.text.delta events, then transcript.text.done', async () => {
    const file = () => toFile(media.speech, 'speech.wav', { type: 'audio/wav' });
    const full = await client.audio.transcriptions.create({ model: MODEL, file: await file() });
    const stream = await client.audio.transcriptions.create({ model: MODEL, file: await file(), stream: true });
    let text = '';
    const events = [];
    for await (const e of stream) events.push(e);
    for (const e of events.slice(0, -1)) {
      assert.equal(e.type, 'transcript.text.delta');
      text += e.delta;
    }
    const done = events.at(-1);
    assert.equal(done.type, 'transcript.text.done');
    assert.equal(done.text, text);
    assert.equal(done.text, full.text);
    assert.ok(done.usage.output_tokens >= 1);
  });

  test('translations.create', async () => {
    const r = await client.audio.translations.create({ model: MODEL, file: await toFile(media.tone, 'tone.wav', { type: 'audio/wav' }) });
    assert.equal(typeof r.text, 'string');
  });
});

describe('bad audio: 400 naming the problem, and the server keeps serving', { skip: !haveAudioTools && 'sox / espeak-ng not installed' }, () => {
  const P = 'messages[0].content[0]';
  const one = (part) => chat({ messages: userTurn(part, { type: 'text', text: 'listen' }) });

  test('not base64', async () => {
    const r = await one({ type: 'input_audio', input_audio: { data: '%%% not base64 %%%', format: 'wav' } });
    assertError(r, 400, { param: P, code: 'invalid_audio', message: /base64/ });
    await assertStillServing();
  });

  test('unknown format', async () => {
    assertError(await one(audioPart(Buffer.from('this is not any audio format'), 'xyz')), 400, { param: P, message: /unknown audio format/ });
    await assertStillServing();
  });

  test('corrupt header', async () => {
    const bad = Buffer.from(media.tone);
    bad.write('junk', 12, 'ascii'); // the fmt chunk id
    const r = await one(audioPart(bad));
    assertError(r, 400, { param: P, message: /corrupt|not valid/ });
    const t = await postForm(server, '/v1/audio/transcriptions', { model: MODEL, file: { bytes: bad, name: 'bad.wav', type: 'audio/wav' } });
    assertError(t, 400, { param: 'file', message: /corrupt|not valid/ });
    await assertStillServing();
  });

  test('zero samples', async () => {
    const header = Buffer.from(media.tone.subarray(0, 44));
    header.writeUInt32LE(36, 4);
    header.writeUInt32LE(0, 40);
    assertError(await one(audioPart(header)), 400, { param: P });
    assertError(await postForm(server, '/v1/audio/transcriptions', { model: MODEL, file: { bytes: header, name: 'empty.wav' } }), 400, { param: 'file' });
    await assertStillServing();
  });

  test(`over the duration limit (--max-audio-seconds ${MAX_AUDIO_SECONDS})`, async () => {
    assertError(await one(audioPart(media.tooLong)), 400, { param: P, message: /limit/ });
    const t = await postForm(server, '/v1/audio/transcriptions', { model: MODEL, file: { bytes: media.tooLong, name: 'long.wav', type: 'audio/wav' } });
    assertError(t, 400, { param: 'file', message: new RegExp(`${MAX_AUDIO_SECONDS} s limit`) });
    await assertStillServing();
  });

  test('too many clips', async () => {
    const r = await chat({ messages: userTurn(audioPart(media.tone), audioPart(media.tone), audioPart(media.tone)) });
    assertError(r, 400, { param: 'messages[0].content[2]', code: 'too_many_audio_clips' });
    await assertStillServing();
  });

  test('transcription form errors', async () => {
    assertError(await postForm(server, '/v1/audio/transcriptions', { model: MODEL }), 400, { param: 'file' });
    assertError(
      await postForm(server, '/v1/audio/transcriptions', { model: MODEL, file: { bytes: media.tone, name: 't.wav' }, response_format: 'docx' }),
      400,
      { param: 'response_format' },
    );
    assertError(await post(server, '/v1/audio/transcriptions', { model: MODEL }), 400, { message: /multipart/ });
    await assertStillServing();
  });
});

describe('a model without encoders', () => {
  let bare;
  let dir;
  before(async () => {
    // The fixture without its vision and audio encoders (files linked, not copied).
    const src = fixtureModel();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-text-only-'));
    const link = (rel) => {
      const from = path.join(src, rel);
      const to = path.join(dir, rel);
      if (fs.statSync(from).isDirectory()) {
        fs.mkdirSync(to);
        for (const f of fs.readdirSync(from)) link(path.join(rel, f));
      } else if (!/(vision|audio)_encoder/.test(rel)) {
        fs.symlinkSync(from, to);
      }
    };
    for (const f of fs.readdirSync(src)) link(f);
    bare = await startServer({ model: dir });
  });
  after(async () => {
    await bare?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('images, audio and transcriptions answer 400 naming the modality', async () => {
    const m = await (await fetch(`${bare.baseURL}/models/${path.basename(dir)}`)).json();
    assert.equal(m.modalities.image.supported, false, JSON.stringify(m.modalities));
    assert.equal(m.modalities.audio.supported, false);
    const body = (part) => ({ model: path.basename(dir), max_tokens: 2, messages: userTurn(part) });
    const img = await post(bare, '/v1/chat/completions', body(imagePart(dataUri('image/png', media.png))));
    assertError(img, 400, { param: 'messages[0].content[0]', code: 'unsupported_modality', message: /image input/ });
    const aud = await post(bare, '/v1/chat/completions', body({ type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } }));
    assertError(aud, 400, { code: 'unsupported_modality', message: /audio input/ });
    const t = await postForm(bare, '/v1/audio/transcriptions', { model: path.basename(dir), file: { bytes: Buffer.from('RIFF'), name: 'a.wav' } });
    assertError(t, 400, { param: 'model', code: 'unsupported_modality' });
    const r = await post(bare, '/v1/chat/completions', { model: path.basename(dir), max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.status, 200, r.text);
  });
});
