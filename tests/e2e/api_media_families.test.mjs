// The image families beside Gemma-3n through the API: gemma3-tiny, smolvlm-tiny, llava-tiny and
// llava-next-tiny report image support and their vision encoder in /v1/models, answer an image
// request (usage.image_tokens as the processor expands it), and give bad or too many images the
// same 400s as Gemma-3n.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startServer, post, fixtureModel } from '../lib/server.mjs';
import { testPattern } from '../lib/media.mjs';

const MAX_IMAGES = 2;
const b64 = (buf) => Buffer.from(buf).toString('base64');
const dataUri = (type, buf) => `data:${type};base64,${b64(buf)}`;
const imagePart = (url) => ({ type: 'image_url', image_url: { url } });

function assertError(r, status, { param, code, message } = {}) {
  assert.equal(r.status, status, `status ${r.status}: ${r.text}`);
  const e = r.json?.error;
  assert.ok(e && typeof e === 'object', `not an OpenAI error body: ${r.text}`);
  assert.equal(e.type, 'invalid_request_error');
  if (param !== undefined) assert.equal(e.param, param, r.text);
  if (code !== undefined) assert.equal(e.code, code, r.text);
  if (message !== undefined) assert.match(e.message, message);
}

// Image tokens of one 320 px image: gemma3 256; smolvlm upscales to 1024 px: 2x2 tiles + global =
// 5 frames of 64; llava 8x8 patches; llava-next picks the 64 px pinpoint: a base tile of 4x4
// patches, then the 8x8 grid of its 2x2 tiles with a newline row each (16 + 8 * 9).
const FAMILIES = [['gemma3-tiny', 256], ['smolvlm-tiny', 5 * 64], ['llava-tiny', 64], ['llava-next-tiny', 88]];

for (const [model, imageTokens] of FAMILIES) {
  describe(model, () => {
    let server;
    let png;
    const chat = (body) => post(server, '/v1/chat/completions', { model, max_tokens: 3, temperature: 0, ...body });
    const one = (url) => chat({ messages: [{ role: 'user', content: [{ type: 'text', text: 'look' }, imagePart(url)] }] });
    const stillServing = async () => {
      const r = await chat({ messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(r.status, 200, r.text);
    };

    before(async () => {
      png = await sharp(Buffer.from(testPattern(320, 320, 3, 5)), { raw: { width: 320, height: 320, channels: 3 } }).png().toBuffer();
      server = await startServer({ model: fixtureModel(model), args: ['--max-images', String(MAX_IMAGES), '--preset', 'FP32'] });
    });
    after(async () => {
      const r = await server?.stop();
      assert.equal(r?.code, 0, `server exit: ${JSON.stringify(r)}`);
    });

    test('/v1/models shows the image modality and the vision encoder', async () => {
      const r = await fetch(`${server.baseURL}/models`);
      const m = (await r.json()).data[0];
      assert.deepEqual(m.modalities.image.supported, true);
      assert.deepEqual(m.modalities.audio.supported, false);
      assert.ok(m.components.some((c) => c.name === 'vision_encoder'), JSON.stringify(m.components));
    });

    test('an image request answers, with the image tokens in usage', async () => {
      const r = await one(dataUri('image/png', png));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.usage.prompt_tokens_details.image_tokens, imageTokens);
    });

    test('bad images: the same 400s as Gemma-3n, and the server keeps serving', async () => {
      const P = 'messages[0].content[1]';
      assertError(await one('data:image/png;base64,@@not base64@@'), 400, { param: P, code: 'invalid_image', message: /base64/ });
      assertError(await one(dataUri('image/png', Buffer.from('hello, I am text'))), 400, { param: P, message: /not an image/ });
      assertError(await one(dataUri('image/png', png.subarray(0, Math.floor(png.length / 2)))), 400, { param: P, message: /truncated|corrupt/i });
      assertError(await one('data:image/png;base64,'), 400, { param: P, message: /empty/ });
      const parts = Array.from({ length: MAX_IMAGES + 1 }, () => imagePart(dataUri('image/png', png)));
      assertError(await chat({ messages: [{ role: 'user', content: parts }] }), 400, {
        param: `messages[0].content[${MAX_IMAGES}]`,
        code: 'too_many_images',
        message: /--max-images/,
      });
      await stillServing();
    });

    test('audio is refused with a 400 naming the modality', async () => {
      const r = await chat({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: b64(Buffer.from('RIFF')), format: 'wav' } }] }] });
      assert.equal(r.status, 400, r.text);
      assert.match(r.json.error.message, /audio/);
      await stillServing();
    });
  });
}
