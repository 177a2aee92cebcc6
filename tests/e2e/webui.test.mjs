// The web chat page at / in a real browser: Playwright (playwright-core) drives Debian's Chromium
// headless against a server on loopback. Screenshots go to BUILD/test-artifacts/webui/.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { startServer, metric, fixtureModel } from '../lib/server.mjs';
import { binPath } from '../lib/paths.mjs';
import { testImage, testTone } from '../lib/fixtures.mjs';
import { startMockHub, hubEnv, tempDir } from '../lib/mockhub.mjs';

const CHROMIUM = process.env.ONNX_CHAT_CHROMIUM || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
let playwright = null;
try {
  playwright = await import('playwright-core');
} catch {
  // reported through SKIP
}
const SKIP = !playwright ? 'playwright-core is not installed (scripts/setup.sh)' : !CHROMIUM ? 'chromium is not installed (scripts/setup.sh)' : false;

const ARTIFACTS = path.join(path.dirname(binPath()), 'test-artifacts', 'webui');
const NO_EOS = { 1: -100, 106: -100 };

async function pngBytes(k) {
  const img = testImage(k, 96, 64);
  return sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer();
}

function wavBytes(samples, rate = 16000) {
  const b = Buffer.alloc(44 + samples.length * 2);
  b.write('RIFF', 0); b.writeUInt32LE(36 + samples.length * 2, 4); b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16); b.writeUInt16LE(1, 20); b.writeUInt16LE(1, 22); b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28); b.writeUInt16LE(2, 32); b.writeUInt16LE(16, 34); b.write('data', 36);
  b.writeUInt32LE(samples.length * 2, 40);
  samples.forEach((s, i) => b.writeInt16LE(Math.round(s * 32767), 44 + i * 2));
  return b;
}

async function shot(name, page) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

// GET without the client adding Accept-Encoding (node's fetch always asks for gzip).
function rawGet(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('web page assets', () => {
  let server;
  before(async () => { server = await startServer(); });
  after(async () => { await server?.stop(); });

  test('/ is gzip for clients that accept it and plain HTML otherwise; fonts are served', async () => {
    const gz = await rawGet(`${server.url}/`, { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(gz.status, 200);
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.match(gz.headers['content-type'], /^text\/html/);
    const html = zlib.gunzipSync(gz.body).toString('utf8');
    assert.match(html, /^<!doctype html>/i);
    assert.ok(gz.body.length < html.length / 2, 'compressed');
    assert.ok(!/https?:\/\/(cdn|unpkg|fonts\.)/.test(html), 'no CDN');

    const plain = await rawGet(`${server.url}/`);
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body.toString('utf8'), html);

    const font = html.match(/\/assets\/KaTeX_Main-Regular-[\w-]+\.woff2/)[0];
    const f = await rawGet(`${server.url}${font}`);
    assert.equal(f.status, 200);
    assert.equal(f.headers['content-type'], 'font/woff2');
    assert.equal((await rawGet(`${server.url}/assets/nope.js`)).status, 404);
  });
});

describe('web page in Chromium', { skip: SKIP }, () => {
  let server, browser, context, page, pageErrors;
  const lastAnswer = () => page.locator('.msg.assistant').last();
  const sendAndWait = async (text) => {
    const before = await page.locator('.msg.assistant').count();
    if (text !== undefined) await page.fill('#input', text);
    await page.press('#input', 'Enter');
    await page.locator('.msg.assistant').nth(before).waitFor();
    await page.locator('#send').waitFor({ state: 'visible', timeout: 30000 });
    return page.locator('.msg').nth(-1);
  };

  before(async () => {
    server = await startServer({ args: ['--parallel', '2'] });
    browser = await playwright.chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['microphone', 'clipboard-read', 'clipboard-write'] });
    page = await context.newPage();
    pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(server.url);
    await page.locator('#model option').first().waitFor({ state: 'attached' });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('settings are kept and sent with each request', async () => {
    await page.click('#open-settings');
    // The fixture model's random weights rarely end a turn: short answers keep the tests quick.
    await page.fill('#settings [name=max_tokens]', '8');
    await page.fill('#settings [name=temperature]', '0.5');
    await page.fill('#settings [name=system]', 'Be brief.');
    await page.click('#settings-save');
    assert.equal(await page.locator('#settings').isVisible(), false);
    const sent = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    const msg = await sendAndWait('Hi');
    const body = JSON.parse((await sent).postData());
    assert.equal(body.max_tokens, 8);
    assert.equal(body.temperature, 0.5);
    assert.deepEqual(body.messages[0], { role: 'system', content: 'Be brief.' });
    assert.equal(body.stream, true);
    assert.match(await msg.locator('.stats').innerText(), /8 tokens/);
    await page.click('#new-chat');
  });

  test('the model picker lists the model and its presets with their modalities', async () => {
    const options = await page.locator('#model option').evaluateAll((os) => os.map((o) => o.value));
    const models = (await (await fetch(`${server.baseURL}/models`)).json()).data.map((m) => m.id);
    assert.deepEqual(options, models);
    assert.ok(options.includes('gemma3n-tiny'));
    assert.ok(options.some((o) => o.startsWith('gemma3n-tiny/')), 'the preset entry');
    assert.equal(await page.locator('#modalities .badge.on[data-modality="image"]').count(), 1);
    assert.equal(await page.locator('#modalities .badge.on[data-modality="audio"]').count(), 1);
    // Switching to the preset entry sends requests with that name.
    const preset = options.find((o) => o.startsWith('gemma3n-tiny/'));
    await page.selectOption('#model', preset);
    const sent = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    const msg = await sendAndWait('Hello there');
    assert.equal(JSON.parse((await sent).postData()).model, preset);
    assert.ok(!(await msg.evaluate((e) => e.classList.contains('error'))), await msg.innerText());
    assert.match(await msg.locator('.stats').innerText(), /TTFT \d+ ms · [\d.]+ tok\/s · \d+ tokens/);
    assert.ok((await msg.locator('.bubble').innerText()).length > 0, 'the answer streamed in');
    await page.selectOption('#model', 'gemma3n-tiny');
  });

  test('a streamed answer is rendered as markdown: code highlighted with copy, table, math', async () => {
    // The fixture model's words are random: this stream is the server's format with known text.
    const answer = '# Title\n\nSome **bold** text.\n\n```python\ndef f(x):\n    return x + 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n$$\nE = mc^2\n$$\n\nInline $a^2$.';
    const pieces = answer.match(/[\s\S]{1,7}/g);
    const sse = pieces.map((p) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: p } }] })}\n\n`).join('') +
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n` +
      `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [], usage: { completion_tokens: pieces.length }, timings: { decode_tokens_per_second: 42.5 } })}\n\ndata: [DONE]\n\n`;
    await page.route('**/v1/chat/completions', (route) => route.fulfill({ status: 200, contentType: 'text/event-stream', body: sse }));
    const msg = await sendAndWait('Show me markdown');
    await page.unroute('**/v1/chat/completions');
    const md = msg.locator('.bubble.md');
    assert.equal(await md.locator('h1').innerText(), 'Title');
    assert.equal(await md.locator('strong').innerText(), 'bold');
    assert.ok((await md.locator('pre code .hljs-keyword').count()) >= 1, 'highlighted');
    assert.equal(await md.locator('.code .code-head span').innerText(), 'python');
    assert.equal(await md.locator('table td').count(), 2);
    assert.equal(await md.locator('.katex-display').count(), 1);
    assert.ok((await md.locator('.katex').count()) >= 2);
    assert.match(await msg.locator('.stats').innerText(), /42\.5 tok\/s/);
    await md.locator('.code .copy').click();
    assert.equal((await page.evaluate(() => navigator.clipboard.readText())).trim(), 'def f(x):\n    return x + 1');
    await shot('markdown-light', page);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    await shot('markdown-dark', page);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  test('a server error is shown as the server says it', async () => {
    const error = { error: { message: 'The model is busy: too many requests are queued.', type: 'server_error', param: null, code: 'queue_full' } };
    await page.route('**/v1/chat/completions', (route) => route.fulfill({ status: 429, contentType: 'application/json', body: JSON.stringify(error) }));
    await sendAndWait('Are you there?');
    await page.unroute('**/v1/chat/completions');
    assert.equal(await page.locator('.msg.error .bubble').last().innerText(), error.error.message);
  });

  test('images attached by picker, paste and drop are sent as parts and shown in the history', async () => {
    await page.click('#new-chat');
    const png = [await pngBytes(0), await pngBytes(1), await pngBytes(2)];
    await page.setInputFiles('#file', [{ name: 'ramp.png', mimeType: 'image/png', buffer: png[0] }]);
    const b64 = png.slice(1).map((b) => b.toString('base64'));
    await page.evaluate(([pasted, dropped]) => {
      const file = (b64, name) => new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type: 'image/png' });
      const paste = new DataTransfer();
      paste.items.add(file(pasted, 'pasted.png'));
      document.querySelector('#input').dispatchEvent(new ClipboardEvent('paste', { clipboardData: paste, bubbles: true }));
      const drop = new DataTransfer();
      drop.items.add(file(dropped, 'dropped.png'));
      document.querySelector('#messages').dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true }));
    }, b64);
    await page.locator('#attachments .att.image').nth(2).waitFor();
    assert.equal(await page.locator('#attachments .att img').count(), 3, 'previews');
    await shot('attachments', page);
    const sent = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    const msg = await sendAndWait('What is in these pictures?');
    const body = JSON.parse((await sent).postData());
    const parts = body.messages.at(-1).content;
    assert.deepEqual(parts.map((p) => p.type), ['image_url', 'image_url', 'image_url', 'text']);
    assert.ok(parts[0].image_url.url.startsWith('data:image/png;base64,'));
    assert.ok(!(await msg.evaluate((e) => e.classList.contains('error'))), await msg.innerText());
    assert.equal(await page.locator('.msg.user').last().locator('.media img').count(), 3);
    assert.equal(await page.locator('#attachments .att').count(), 0);
  });

  test('audio from a file and from the microphone is sent as input_audio', async () => {
    await page.setInputFiles('#file', [{ name: 'tone.wav', mimeType: 'audio/wav', buffer: wavBytes(testTone(440, 0.5)) }]);
    await page.locator('#attachments .att.audio').waitFor();
    await page.click('#record');
    await page.waitForTimeout(1200);
    await page.click('#record');
    await page.locator('#attachments .att.audio').nth(1).waitFor();
    const sent = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    const msg = await sendAndWait('Transcribe these');
    const parts = JSON.parse((await sent).postData()).messages.at(-1).content;
    assert.deepEqual(parts.map((p) => p.type), ['input_audio', 'input_audio', 'text']);
    assert.deepEqual(parts.map((p) => p.input_audio?.format).slice(0, 2), ['wav', 'wav']);
    // The recording is real audio: a WAV of about 1 s at 16 kHz.
    assert.ok(Buffer.from(parts[1].input_audio.data, 'base64').length > 16000, 'recorded samples');
    assert.ok(!(await msg.evaluate((e) => e.classList.contains('error'))), await msg.innerText());
    assert.equal(await page.locator('.msg.user').last().locator('.media audio').count(), 2);
  });

  test('stop aborts the stream and the server cancels the request', async () => {
    const disconnects = (await metric(server, 'onnx_chat_client_disconnects_total')) ?? 0;
    // A long answer: no end-of-turn token, many tokens.
    await page.route('**/v1/chat/completions', (route) => {
      const body = JSON.parse(route.request().postData());
      route.continue({ postData: JSON.stringify({ ...body, max_tokens: 20000, logit_bias: NO_EOS }) });
    });
    await page.fill('#input', 'Go on forever');
    await page.press('#input', 'Enter');
    await page.locator('#stop').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelector('.msg.assistant:last-child .bubble')?.innerText.length > 20);
    assert.equal(await metric(server, 'onnx_chat_running_requests'), 1, 'generating');
    await page.keyboard.press('Escape');
    await page.locator('#send').waitFor({ state: 'visible' });
    await page.unroute('**/v1/chat/completions');
    assert.match(await lastAnswer().locator('.stats').innerText(), /stopped/);
    const t0 = Date.now();
    while (((await metric(server, 'onnx_chat_running_requests')) !== 0 || (await metric(server, 'onnx_chat_client_disconnects_total')) <= disconnects) && Date.now() - t0 < 5000)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(await metric(server, 'onnx_chat_running_requests'), 0, 'the server stopped generating');
    assert.ok((await metric(server, 'onnx_chat_client_disconnects_total')) > disconnects, 'counted as a client disconnect');
  });

  test('edit a message and regenerate an answer', async () => {
    const users = page.locator('.msg.user');
    const n = await users.count();
    await users.last().locator('.edit-btn').click();
    await page.fill('.msg .edit textarea', 'Say something else');
    const sent = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    await page.click('.msg .edit .primary');
    assert.equal(JSON.parse((await sent).postData()).messages.at(-1).content.at(-1).text, 'Say something else');
    await page.locator('#send').waitFor({ state: 'visible' });
    assert.equal(await users.count(), n, 'the edit replaced the message');
    const again = page.waitForRequest((r) => r.url().endsWith('/v1/chat/completions'));
    await lastAnswer().locator('.regenerate').click();
    await again;
    await page.locator('#send').waitFor({ state: 'visible' });
    assert.equal(await page.locator('.msg.assistant').count(), n);
  });

  test('conversations survive a reload; rename, search and delete', async () => {
    const title = await page.locator('#conversations li.active .title').innerText();
    assert.equal(title, 'What is in these pictures?');
    await page.reload();
    await page.locator('.msg.user').first().waitFor();
    assert.equal(await page.locator('.msg.user').first().locator('.media img').count(), 3, 'the open conversation is back');
    await page.click('#new-chat');
    assert.equal(await page.locator('.msg').count(), 0);
    await page.locator('#conversations li', { hasText: title }).locator('.title').click();
    await page.locator('.msg.user').first().waitFor();
    await page.locator('#conversations li.active .rename').click();
    await page.fill('#conversations li input', 'Pictures');
    await page.press('#conversations li input', 'Enter');
    await page.locator('#conversations li.active .title', { hasText: 'Pictures' }).waitFor();
    await page.keyboard.press('Control+k');
    await page.fill('#search', 'markdown');
    await page.waitForFunction(() => document.querySelectorAll('#conversations li[data-id]').length === 1);
    assert.equal(await page.locator('#conversations li .title').innerText(), 'Hello there', 'found by the text of a message');
    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelectorAll('#conversations li[data-id]').length === 3);
    page.once('dialog', (d) => d.accept());
    const count = 3;
    await page.locator('#conversations li', { hasText: 'Pictures' }).locator('.delete').click();
    await page.waitForFunction((c) => document.querySelectorAll('#conversations li[data-id]').length === c - 1, count);
  });

  test('on a phone: the list is a drawer and the page fits the width', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.addInitScript(() => localStorage.setItem('onnx-chat.settings', JSON.stringify({ max_tokens: '8' })));
    const p = await phone.newPage();
    await p.goto(server.url);
    await p.locator('#model option').first().waitFor({ state: 'attached' });
    assert.equal(await p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), true);
    assert.equal(await p.locator('#sidebar').evaluate((e) => e.getBoundingClientRect().right <= 0), true, 'the list is hidden');
    await p.fill('#input', 'Hi from a phone');
    const answered = p.waitForResponse((r) => r.url().endsWith('/v1/chat/completions'));
    await p.press('#input', 'Enter');
    await answered;
    await p.locator('.msg.assistant .stats', { hasText: /tok\/s/ }).waitFor({ timeout: 30000 });
    await shot('phone', p);
    await p.click('#open-sidebar');
    await p.waitForTimeout(300);
    assert.equal(await p.locator('#sidebar').evaluate((e) => e.getBoundingClientRect().left >= 0), true, 'the drawer opened');
    await shot('phone-drawer', p);
    await phone.close();
    assert.deepEqual(pageErrors, []);
  });
});

describe('web page on a first run from the hub, text only', { skip: SKIP }, () => {
  test('the page shows the download, then refuses images the model cannot take before sending', async () => {
    const REPO = 'onnx-community/gemma3n-tiny-ONNX';
    const hub = await startMockHub({ [REPO]: fixtureModel() });
    await hub.control({ slow_bps: 100_000 });  // the text-only files (0.5 MB) take about 5 s
    const browser = await playwright.chromium.launch({ executablePath: CHROMIUM, headless: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const server = await startServer({ model: REPO, args: ['--modalities', 'text'], env: hubEnv(tempDir('oc-webui-hub-'), hub.url, { ONNX_CHAT_LOG_LEVEL: 'info' }), ready: false });
    try {
      await page.goto(server.url);
      await page.locator('#loading-text', { hasText: /Downloading onnx-community\/gemma3n-tiny-ONNX: [\d.]+ MiB of [\d.]+ MiB/ }).waitFor({ timeout: 20000 });
      await shot('first-run-download', page);
      await page.locator('#model option').first().waitFor({ state: 'attached', timeout: 60000 });
      assert.equal(await page.locator('#loading').isHidden(), true);
      assert.equal(await page.locator('#modalities .badge.off[data-modality="image"]').count(), 1);
      await page.setInputFiles('#file', [{ name: 'x.png', mimeType: 'image/png', buffer: await pngBytes(0) }]);
      assert.match(await page.locator('#error').innerText(), /does not take image input/);
      assert.equal(await page.locator('#attachments .att').count(), 0);
      await shot('text-only-refusal', page);
    } finally {
      await browser.close();
      await server.stop();
      await hub.stop();
    }
  });
});
