// Gemma 4 through the HTTP API on the gemma4-tiny fixture: /v1/models reports image and audio
// with both encoders, image and audio requests answer with the soft tokens the processor gives
// (variable per image / clip), transcriptions work (one segment per 30 s window), and bad images
// and bad audio get the same 400s as on Gemma-3n (tests/e2e/api_media.test.mjs), after which the
// server keeps serving.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startServer, post, fixtureModel } from '../lib/server.mjs';
import { ensureFixtures, testTone } from '../lib/fixtures.mjs';
import { testPattern } from '../lib/media.mjs';

const MODEL = 'gemma4-tiny';
const MAX_IMAGES = 2;
const MAX_AUDIO_SECONDS = 60;
let server;
const media = {};

const b64 = (buf) => Buffer.from(buf).toString('base64');
const dataUri = (type, buf) => `data:${type};base64,${b64(buf)}`;
const imagePart = (url) => ({ type: 'image_url', image_url: { url } });
const audioPart = (buf, format = 'wav') => ({ type: 'input_audio', input_audio: { data: b64(buf), format } });
const userTurn = (...parts) => [{ role: 'user', content: parts }];
const chat = (body) => post(server, '/v1/chat/completions', { model: MODEL, max_tokens: 3, temperature: 0, ...body });

// 16-bit mono PCM WAV bytes.
function wav(samples, rate = 16000) {
  const data = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; ++i) data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, samples[i])) * 32767), 2 * i);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

// The signature and IHDR chunk of a PNG that claims width x height pixels (no pixel data).
function pngHeader(width, height) {
  const ihdr = Buffer.alloc(17);
  ihdr.write('IHDR', 0, 'ascii');
  ihdr.writeUInt32BE(width, 4);
  ihdr.writeUInt32BE(height, 8);
  ihdr.set([8, 2, 0, 0, 0], 12);
  let c = 0xffffffff;
  for (const b of ihdr) {
    c ^= b;
    for (let k = 0; k < 8; ++k) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  const len = Buffer.alloc(4);
  len.writeUInt32BE(13);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), len, ihdr, crc]);
}

function assertError(r, status, { param, code, message } = {}) {
  assert.equal(r.status, status, `status ${r.status}: ${r.text}`);
  const e = r.json?.error;
  assert.ok(e && typeof e === 'object', `not an OpenAI error body: ${r.text}`);
  assert.deepEqual(Object.keys(e).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(e.type, 'invalid_request_error');
  if (param !== undefined) assert.equal(e.param, param, r.text);
  if (code !== undefined) assert.equal(e.code, code, r.text);
  if (message !== undefined) assert.match(e.message, message);
}

async function stillServing() {
  const r = await chat({ messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.status, 200, `follow-up request failed: ${r.text}`);
}

async function transcribe(bytes, name, extra = {}) {
  const form = new FormData();
  form.append('model', MODEL);
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  form.append('file', new Blob([bytes], { type: 'audio/wav' }), name);
  const r = await fetch(`${server.url}/v1/audio/transcriptions`, { method: 'POST', body: form });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, json, text };
}

const png = (width, height, seed) =>
  sharp(Buffer.from(testPattern(width, height, 3, seed)), { raw: { width, height, channels: 3 } }).png().toBuffer();

before(async () => {
  ensureFixtures([MODEL]);
  media.square = await png(320, 320, 1); // 768x768 after resize: 48x48 patches, 256 soft tokens
  media.wide = await png(960, 240, 2); // 1584x384: 99x24 patches, 264 soft tokens
  media.tone = wav(testTone(440, 2)); // 2 s: 200 frames, 50 soft tokens
  media.long = wav(testTone(300, 45)); // 45 s: two windows
  media.tooLong = wav(testTone(440, MAX_AUDIO_SECONDS + 1), 8000);
  server = await startServer({
    model: fixtureModel(MODEL),
    args: ['--max-images', String(MAX_IMAGES), '--max-audio-clips', '2', '--max-audio-seconds', String(MAX_AUDIO_SECONDS), '--preset', 'FP32'],
  });
});

after(async () => {
  const r = await server?.stop();
  assert.equal(r?.code, 0, `server exit: ${JSON.stringify(r)}\n${server?.logs()}`);
});

describe('gemma4-tiny', () => {
  test('/v1/models shows image and audio with their encoders', async () => {
    const m = (await (await fetch(`${server.baseURL}/models`)).json()).data[0];
    assert.deepEqual(m.modalities.text, { supported: true, loaded: true });
    assert.equal(m.modalities.image.supported, true);
    assert.equal(m.modalities.audio.supported, true);
    for (const name of ['vision_encoder', 'audio_encoder', 'embed_tokens', 'decoder_model_merged'])
      assert.ok(m.components.some((c) => c.name === name), `${name}: ${JSON.stringify(m.components)}`);
  });

  test('images: soft tokens per image as the processor gives them', async () => {
    const r = await chat({ messages: userTurn({ type: 'text', text: 'look' }, imagePart(dataUri('image/png', media.square))) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.usage.prompt_tokens_details.image_tokens, 256);
    const two = await chat({
      messages: userTurn(imagePart(dataUri('image/png', media.square)), imagePart(dataUri('image/png', media.wide))),
    });
    assert.equal(two.status, 200, two.text);
    assert.equal(two.json.usage.prompt_tokens_details.image_tokens, 256 + 264);
  });

  test('audio: soft tokens per clip, and transcriptions (one segment per 30 s window)', async () => {
    const r = await chat({ messages: userTurn(audioPart(media.tone), { type: 'text', text: 'listen' }) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.usage.prompt_tokens_details.audio_tokens, 50);
    const t = await transcribe(media.tone, 'tone.wav');
    assert.equal(t.status, 200, t.text);
    assert.equal(typeof t.json.text, 'string');
    assert.equal(t.json.usage.input_token_details.audio_tokens, 50);
    const long = await transcribe(media.long, 'long.wav', { response_format: 'verbose_json' });
    assert.equal(long.status, 200, long.text);
    assert.equal(long.json.segments.length, 2, JSON.stringify(long.json.segments));
    assert.ok(Math.abs(long.json.duration - 45) < 1e-6);
  });
});

describe('gemma4-tiny: bad images get the same 400s as Gemma-3n', () => {
  const one = (url) => chat({ messages: userTurn({ type: 'text', text: 'look' }, imagePart(url)) });
  const P = 'messages[0].content[1]';

  test('not base64, not an image, truncated, empty, too large, too many', async () => {
    assertError(await one('data:image/png;base64,@@not base64@@'), 400, { param: P, code: 'invalid_image', message: /base64/ });
    assertError(await one(dataUri('image/png', Buffer.from('hello, I am text'))), 400, { param: P, message: /not an image/ });
    const half = media.square.subarray(0, Math.floor(media.square.length / 2));
    assertError(await one(dataUri('image/png', half)), 400, { param: P, message: /truncated|corrupt/i });
    assertError(await one('data:image/png;base64,'), 400, { param: P, message: /empty/ });
    assertError(await one(dataUri('image/png', pngHeader(30000, 30000))), 400, { param: P, message: /30000x30000.*limit/ });
    const parts = Array.from({ length: MAX_IMAGES + 1 }, () => imagePart(dataUri('image/png', media.square)));
    assertError(await chat({ messages: userTurn(...parts) }), 400, {
      param: `messages[0].content[${MAX_IMAGES}]`,
      code: 'too_many_images',
      message: /--max-images/,
    });
    await stillServing();
  });
});

describe('gemma4-tiny: bad audio gets the same 400s as Gemma-3n', () => {
  const P = 'messages[0].content[0]';
  const one = (part) => chat({ messages: userTurn(part, { type: 'text', text: 'listen' }) });

  test('not base64, unknown format, corrupt header, zero samples, over the limit, too many clips', async () => {
    assertError(await one({ type: 'input_audio', input_audio: { data: '%%% not base64 %%%', format: 'wav' } }), 400, {
      param: P,
      code: 'invalid_audio',
      message: /base64/,
    });
    assertError(await one(audioPart(Buffer.from('this is not any audio format'), 'xyz')), 400, { param: P, message: /unknown audio format/ });
    const bad = Buffer.from(media.tone);
    bad.write('junk', 12, 'ascii');
    assertError(await one(audioPart(bad)), 400, { param: P, message: /corrupt|not valid/ });
    assertError(await transcribe(bad, 'bad.wav'), 400, { param: 'file', message: /corrupt|not valid/ });
    const header = Buffer.from(media.tone.subarray(0, 44));
    header.writeUInt32LE(36, 4);
    header.writeUInt32LE(0, 40);
    assertError(await one(audioPart(header)), 400, { param: P });
    assertError(await transcribe(header, 'empty.wav'), 400, { param: 'file' });
    assertError(await one(audioPart(media.tooLong)), 400, { param: P, message: /limit/ });
    assertError(await transcribe(media.tooLong, 'long.wav'), 400, { param: 'file', message: new RegExp(`${MAX_AUDIO_SECONDS} s limit`) });
    const three = await chat({ messages: userTurn(audioPart(media.tone), audioPart(media.tone), audioPart(media.tone)) });
    assertError(three, 400, { param: 'messages[0].content[2]', code: 'too_many_audio_clips' });
    await stillServing();
  });

  test('a clip too short for one audio token', async () => {
    assertError(await one(audioPart(wav(testTone(440, 0.005)))), 400, { param: P, message: /too short/ });
    await stillServing();
  });
});
