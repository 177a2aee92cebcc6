// onnx-chat pull / list / rm against the local mock hub (tools/mockhub): preset file selection,
// the huggingface_hub cache layout, resume after a cut or a kill, checksums, one-line errors,
// offline use of the cache.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { binPath } from '../lib/paths.mjs';
import { startMockHub, makeFakeRepo, tempDir, hubEnv, runCli, walk } from '../lib/mockhub.mjs';

const REPO = 'onnx-test/gemma3n-fake';
const BIG = 'onnx/decoder_model_merged_q4.onnx_data';
const Q4_TEXT = [
  'added_tokens.txt', 'chat_template.jinja', 'config.json', 'generation_config.json',
  'onnx/decoder_model_merged_q4.onnx', 'onnx/decoder_model_merged_q4.onnx_data',
  'onnx/embed_tokens_quantized.onnx', 'onnx/embed_tokens_quantized.onnx_data',
  'preprocessor_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json',
];

// These tests follow the downloads of the text-only selection (the default, every modality, is
// tested in hub-fixture.test.mjs) unless they name --modalities.
const TEXT = ['--modalities', 'text'];
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const gitBlobId = (buf) => crypto.createHash('sha1').update(`blob ${buf.length}\0`).update(buf).digest('hex');
const repoFolder = (home, id = REPO) => path.join(home, 'hub', 'models--' + id.replaceAll('/', '--'));
const lastLine = (s) => s.trim().split('\n').pop();

let source, hub, home;

before(async () => {
  source = makeFakeRepo(path.join(tempDir('oc-hub-src-'), 'repo'));
  hub = await startMockHub({ [REPO]: source }, { gated: [] });
});
after(async () => { await hub?.stop(); });
beforeEach(async () => {
  await hub.reset();
  home = tempDir('oc-hub-home-');
});

const pull = (args, extra = {}, opts = {}) =>
  runCli(['pull', ...args, ...(args.includes('--modalities') ? [] : TEXT)], hubEnv(home, hub.url, extra), opts);

describe('pull', () => {
  test('a preset fetches only its files, in the huggingface_hub cache layout', async () => {
    const r = await pull([`${REPO}/Q4_MIXED`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.repo_id, REPO);
    assert.equal(out.preset, 'Q4_MIXED');
    assert.equal(out.source, 'hub');
    assert.deepEqual(out.files, Q4_TEXT);
    assert.deepEqual(out.components.map((c) => [c.role, c.dtype]).sort(), [['decoder', 'q4'], ['embed', 'quantized']]);

    const root = repoFolder(home);
    const commit = fs.readFileSync(path.join(root, 'refs', 'main'), 'utf8');
    assert.match(commit, /^[0-9a-f]{40}$/);
    assert.equal(out.commit, commit);
    const snap = path.join(root, 'snapshots', commit);
    assert.equal(out.folder, snap);
    assert.deepEqual(walk(snap), Q4_TEXT);
    for (const rel of Q4_TEXT) {
      const link = path.join(snap, rel);
      assert.ok(fs.lstatSync(link).isSymbolicLink(), rel);
      const target = fs.readlinkSync(link);
      assert.ok(!path.isAbsolute(target), `relative link: ${target}`);
      const content = fs.readFileSync(path.join(source, rel));
      const etag = rel.includes('.onnx') ? sha256(content) : gitBlobId(content);
      assert.equal(path.resolve(path.dirname(link), target), path.join(root, 'blobs', etag), rel);
      assert.ok(fs.readFileSync(link).equals(content), rel);
    }
    assert.deepEqual(fs.readdirSync(path.join(root, 'blobs')).filter((f) => f.endsWith('.incomplete')), []);
    // Nothing else was downloaded.
    const gets = (await hub.log()).filter((e) => e.method === 'GET' && e.status < 300 && !e.path.startsWith('/api/'));
    assert.equal(gets.length, Q4_TEXT.length - 1, 'the empty file needs no GET');
  });

  test('modalities add encoders; a second pull downloads nothing', async () => {
    const r = await pull([REPO, '--preset', 'q4_mixed', '--modalities', 'text,image', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.ok(out.files.includes('onnx/vision_encoder_fp16.onnx'));
    assert.ok(!out.files.some((f) => f.includes('audio')));
    await hub.reset();
    const again = await pull([REPO, '--modalities', 'image', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).downloaded_bytes, 0);
    const log = await hub.log();
    assert.deepEqual(log.map((e) => e.path), [`/api/models/${REPO}/revision/main`]);
  });

  test('FP32 takes every external data file', async () => {
    const r = await pull([`${REPO}@main/FP32`, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const files = JSON.parse(r.stdout).files;
    for (const f of ['onnx/decoder_model_merged.onnx_data', 'onnx/decoder_model_merged.onnx_data_1', 'onnx/embed_tokens.onnx_data'])
      assert.ok(files.includes(f), f);
  });

  test('a download cut mid-file retries with Range and ends byte-identical', async () => {
    await hub.control({ fail_after: { [BIG]: { bytes: 1_000_000, times: 2 } } });
    const r = await pull([REPO, '--json'], { ONNX_CHAT_DOWNLOAD_RETRIES: '3' });
    assert.equal(r.code, 0, r.stderr);
    const ranged = (await hub.log()).filter((e) => e.range && e.method === 'GET');
    assert.ok(ranged.some((e) => e.range === 'bytes=1000000-'), JSON.stringify(ranged));
    const snap = JSON.parse(r.stdout).folder;
    assert.ok(fs.readFileSync(path.join(snap, BIG)).equals(fs.readFileSync(path.join(source, BIG))));
  });

  test('a failed pull leaves only an .incomplete file; the next pull resumes it', async () => {
    await hub.control({ fail_after: { [BIG]: { bytes: 700_000, times: 1 } } });
    const r = await pull([REPO], { ONNX_CHAT_DOWNLOAD_RETRIES: '0' });
    assert.equal(r.code, 1);
    assert.match(lastLine(r.stderr), new RegExp(`^onnx-chat pull: download of ${BIG} failed .*run again to resume`));
    const blobs = path.join(repoFolder(home), 'blobs');
    const etag = sha256(fs.readFileSync(path.join(source, BIG)));
    assert.equal(fs.statSync(path.join(blobs, etag + '.incomplete')).size, 700_000);
    assert.ok(!fs.existsSync(path.join(blobs, etag)), 'no complete-looking blob');
    const commit = fs.readFileSync(path.join(repoFolder(home), 'refs', 'main'), 'utf8');
    assert.ok(!fs.existsSync(path.join(repoFolder(home), 'snapshots', commit, BIG)), 'no snapshot link');

    await hub.reset();
    const again = await pull([REPO, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const log = await hub.log();
    assert.ok(log.some((e) => e.range === 'bytes=700000-' && e.status === 206), JSON.stringify(log));
    assert.ok(fs.readFileSync(path.join(JSON.parse(again.stdout).folder, BIG)).equals(fs.readFileSync(path.join(source, BIG))));
    assert.ok(!fs.existsSync(path.join(blobs, etag + '.incomplete')));
  });

  test('a killed pull resumes byte-identical', async () => {
    await hub.control({ slow_bps: 400_000 });
    const child = spawn(binPath(), ['pull', REPO], { env: hubEnv(home, hub.url), stdio: 'ignore' });
    const blobs = path.join(repoFolder(home), 'blobs');
    const etag = sha256(fs.readFileSync(path.join(source, BIG)));
    const part = path.join(blobs, etag + '.incomplete');
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline && !(fs.existsSync(part) && fs.statSync(part).size > 300_000))
      await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const cut = fs.statSync(part).size;
    assert.ok(cut > 0 && cut < 3_000_000, `partial size ${cut}`);
    assert.ok(!fs.existsSync(path.join(blobs, etag)));

    await hub.reset();
    const again = await pull([REPO, '--json']);
    assert.equal(again.code, 0, again.stderr);
    const log = await hub.log();
    assert.ok(log.some((e) => e.range === `bytes=${cut}-` && e.status === 206), JSON.stringify(log.filter((e) => e.range)));
    assert.ok(fs.readFileSync(path.join(JSON.parse(again.stdout).folder, BIG)).equals(fs.readFileSync(path.join(source, BIG))));
  });

  test('a server that ignores Range restarts the file from zero', async () => {
    await hub.control({ fail_after: { [BIG]: { bytes: 500_000, times: 1 } }, ignore_range: true });
    const r = await pull([REPO, '--json'], { ONNX_CHAT_DOWNLOAD_RETRIES: '2' });
    assert.equal(r.code, 0, r.stderr);
    const big = (await hub.log()).filter((e) => e.method === 'GET' && e.path.startsWith('/_cdn/') && e.range);
    assert.ok(big.some((e) => e.range === 'bytes=500000-' && e.status === 200), JSON.stringify(big));
    assert.ok(fs.readFileSync(path.join(JSON.parse(r.stdout).folder, BIG)).equals(fs.readFileSync(path.join(source, BIG))));
  });

  test('two pulls at once share the cache safely (one writer per blob)', async () => {
    await hub.control({ slow_bps: 3_000_000 });
    const [a, b] = await Promise.all([pull([REPO, '--json']), pull([REPO, '--json'])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const folder = JSON.parse(a.stdout).folder;
    for (const rel of Q4_TEXT) assert.ok(fs.readFileSync(path.join(folder, rel)).equals(fs.readFileSync(path.join(source, rel))), rel);
    const cdnGets = (await hub.log()).filter((e) => e.method === 'GET' && e.path.startsWith('/_cdn/'));
    assert.equal(cdnGets.length, 4, 'each LFS file fetched once');
  });

  test('a commit hash as revision: no ref written', async () => {
    const first = await pull([REPO, '--json']);
    const commit = JSON.parse(first.stdout).commit;
    const h2 = tempDir('oc-hub-home-');
    const r = await runCli(['pull', ...TEXT, `${REPO}@${commit}`, '--json'], hubEnv(h2, hub.url));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).commit, commit);
    assert.ok(!fs.existsSync(path.join(repoFolder(h2), 'refs')));
    const off = await runCli(['pull', ...TEXT, REPO, '--revision', commit, '--json'], hubEnv(h2, hub.url, { HF_HUB_OFFLINE: '1' }));
    assert.equal(off.code, 0, off.stderr);
  });

  test('corrupted content from the hub is detected and not kept', async () => {
    await hub.control({ corrupt: ['onnx/embed_tokens_quantized.onnx_data'] });
    const r = await pull([REPO]);
    assert.equal(r.code, 1);
    assert.match(lastLine(r.stderr), /^onnx-chat pull: checksum mismatch for onnx\/embed_tokens_quantized\.onnx_data .*expected sha256 [0-9a-f]{64}, got [0-9a-f]{64}/);
    const blobs = fs.readdirSync(path.join(repoFolder(home), 'blobs'));
    const etag = sha256(fs.readFileSync(path.join(source, 'onnx/embed_tokens_quantized.onnx_data')));
    assert.ok(!blobs.includes(etag) && !blobs.includes(etag + '.incomplete'));
  });

  test('a corrupted blob in the cache is found by --verify (and a truncated one always) and fetched again', async () => {
    const r = await pull([REPO, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const snap = JSON.parse(r.stdout).folder;
    const file = path.join(snap, 'onnx/embed_tokens_quantized.onnx_data');
    const good = fs.readFileSync(path.join(source, 'onnx/embed_tokens_quantized.onnx_data'));
    const bad = Buffer.from(good); bad[100] ^= 0xff;
    fs.writeFileSync(fs.realpathSync(file), bad);
    const plain = await pull([REPO, '--json']);
    assert.equal(JSON.parse(plain.stdout).repaired_files, 0, 'same size: only --verify re-hashes');
    const verify = await pull([REPO, '--verify', '--json'], { ONNX_CHAT_LOG_LEVEL: 'warn' });
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(JSON.parse(verify.stdout).repaired_files, 1);
    assert.match(verify.stderr, /corrupted/);
    assert.ok(fs.readFileSync(file).equals(good));
    fs.truncateSync(fs.realpathSync(file), 10);
    const again = await pull([REPO, '--json']);
    assert.equal(JSON.parse(again.stdout).repaired_files, 1);
    assert.ok(fs.readFileSync(file).equals(good));
  });

  test('not enough disk space stops before downloading', async () => {
    await hub.control({ fake_size: { [BIG]: 1e15 } });
    const r = await pull([REPO]);
    assert.equal(r.code, 1);
    assert.match(lastLine(r.stderr), /^onnx-chat pull: not enough disk space in .*: onnx-test\/gemma3n-fake needs 1000\.0 TB/);
    assert.ok(!(await hub.log()).some((e) => e.path.startsWith('/_cdn/')));
  });
});

describe('errors are one clear line', () => {
  const oneLine = (r, re) => {
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), re);
  };
  test('unknown repo (401 RepoNotFound)', async () => {
    oneLine(await pull(['onnx-test/nope']), /^onnx-chat pull: repository not found: onnx-test\/nope \(HTTP 401\); if it is private or gated, set HF_TOKEN$/);
  });
  test('unknown revision (404 RevisionNotFound)', async () => {
    oneLine(await pull([`${REPO}@v9`]), /^onnx-chat pull: revision not found: v9 in onnx-test\/gemma3n-fake \(HTTP 404\)$/);
  });
  test('missing file (404 EntryNotFound)', async () => {
    await hub.control({ status: { 'config.json': 404 } });
    oneLine(await pull([REPO]), /^onnx-chat pull: file not found: config\.json in onnx-test\/gemma3n-fake@[0-9a-f]{40} \(HTTP 404\)$/);
  });
  test('offline with nothing cached', async () => {
    oneLine(await pull([REPO], { HF_HUB_OFFLINE: '1' }), /^onnx-chat pull: offline \(HF_HUB_OFFLINE=1\) and onnx-test\/gemma3n-fake@main is not in the cache \(.*\); pull it while online first$/);
    assert.deepEqual(await hub.log(), []);
  });
  test('hub unreachable with nothing cached', async () => {
    const r = await runCli(['pull', ...TEXT, REPO], hubEnv(home, 'http://127.0.0.1:9'));
    oneLine(r, /^onnx-chat pull: cannot reach the hub at http:\/\/127\.0\.0\.1:9 \(.*\); to use the local cache only, set HF_HUB_OFFLINE=1$/);
  });
  test('bad argument', async () => {
    oneLine(await pull(['org/name/NOPE']), /^onnx-chat pull: unknown preset 'NOPE'/);
  });
});

describe('gated and private repos', () => {
  test('gated: 401 GatedRepo without a token, fine with one; the token stays off the CDN', async () => {
    const src = makeFakeRepo(path.join(tempDir('oc-hub-gated-'), 'repo'), { big: 1000 });
    const gated = await startMockHub({ 'gated/model': src }, { gated: ['gated/model'] });
    try {
      const h = tempDir('oc-hub-home-');
      const r = await runCli(['pull', ...TEXT, 'gated/model'], hubEnv(h, gated.url));
      assert.equal(r.code, 1);
      assert.match(r.stderr.trim(), /^onnx-chat pull: gated\/model is gated \(HTTP 401\): accept its conditions at http:\/\/127\.0\.0\.1:\d+\/gated\/model and set HF_TOKEN$/);
      await gated.control({ cdn_host: 'localhost' });
      const tokenFile = path.join(h, 'token');
      fs.writeFileSync(tokenFile, 'hf_secret\n');  // the token file of HF_HOME
      const ok = await runCli(['pull', ...TEXT, 'gated/model'], hubEnv(h, gated.url));
      assert.equal(ok.code, 0, ok.stderr);
      const log = await gated.log();
      assert.ok(log.filter((e) => e.path.includes('/resolve/')).every((e) => e.auth === 'Bearer hf_secret' || e.status === 401));
      assert.ok(log.filter((e) => e.path.startsWith('/_cdn/')).every((e) => e.auth === null), 'no token to another origin');
    } finally {
      await gated.stop();
    }
  });
});

describe('cache use', () => {
  test('HF_HUB_OFFLINE=1 serves from the cache without the network; an unreachable hub falls back to it', async () => {
    const first = await pull([`${REPO}/Q4_MIXED`, '--json']);
    assert.equal(first.code, 0, first.stderr);
    await hub.reset();
    const off = await runCli(['pull', ...TEXT, REPO, '--json'], hubEnv(home, hub.url, { HF_HUB_OFFLINE: '1' }));
    assert.equal(off.code, 0, off.stderr);
    const out = JSON.parse(off.stdout);
    assert.equal(out.source, 'cache');
    assert.equal(out.folder, JSON.parse(first.stdout).folder);
    assert.deepEqual(out.files, Q4_TEXT);
    assert.deepEqual(await hub.log(), [], 'no request while offline');
    const down = await runCli(['pull', ...TEXT, REPO, '--json'], hubEnv(home, 'http://127.0.0.1:9'));
    assert.equal(down.code, 0, down.stderr);
    assert.equal(JSON.parse(down.stdout).source, 'cache');
    assert.match(down.stderr, /cannot reach the hub/);
    // A cached model can be named by its bare name.
    const bare = await runCli(['pull', ...TEXT, 'gemma3n-fake', '--json'], hubEnv(home, hub.url, { HF_HUB_OFFLINE: '1' }));
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(JSON.parse(bare.stdout).repo_id, REPO);
  });

  test('list shows what was pulled, with presets and sizes; rm removes a preset, then the model', async () => {
    assert.equal((await pull([REPO])).code, 0);
    assert.equal((await pull([`${REPO}/FP16`])).code, 0);
    const env = hubEnv(home, hub.url);
    const list = await runCli(['list', '--json'], env);
    assert.equal(list.code, 0, list.stderr);
    const [model] = JSON.parse(list.stdout);
    assert.equal(model.repo_id, REPO);
    const blobs = path.join(repoFolder(home), 'blobs');
    const onDisk = fs.readdirSync(blobs).reduce((n, f) => n + fs.statSync(path.join(blobs, f)).size, 0);
    assert.equal(model.size_on_disk, onDisk);
    const [snap] = model.snapshots;
    assert.deepEqual(snap.refs, ['main']);
    const presets = Object.fromEntries(snap.presets.map((p) => [p.name, p]));
    assert.deepEqual(Object.keys(presets).sort(), ['FP16', 'Q4_MIXED']);
    assert.deepEqual(presets.Q4_MIXED.modalities, ['text']);
    const q4size = Q4_TEXT.reduce((n, f) => n + fs.statSync(path.join(source, f)).size, 0);
    assert.equal(presets.Q4_MIXED.size_bytes, q4size);

    const text = await runCli(['list'], env);
    assert.match(text.stdout, /^MODEL\s+REVISION\s+COMMIT\s+SIZE\s+PRESETS$/m);
    assert.match(text.stdout, new RegExp(`^${REPO}\\s+main\\s+[0-9a-f]{8}\\s+\\d+\\.\\d MB\\s+.*Q4_MIXED \\(text, \\d+\\.\\d MB\\)`, 'm'));

    const rmPreset = await runCli(['rm', `${REPO}/FP16`], env);
    assert.equal(rmPreset.code, 0, rmPreset.stderr);
    assert.match(rmPreset.stdout, /^removed onnx-test\/gemma3n-fake\/FP16: \d+ file\(s\), .* freed$/m);
    const after = JSON.parse((await runCli(['list', '--json'], env)).stdout);
    assert.deepEqual(after[0].snapshots[0].presets.map((p) => p.name), ['Q4_MIXED']);
    assert.ok(after[0].size_on_disk < model.size_on_disk);

    const rm = await runCli(['rm', REPO], env);
    assert.equal(rm.code, 0, rm.stderr);
    assert.ok(!fs.existsSync(repoFolder(home)));
    const empty = await runCli(['list'], env);
    assert.match(empty.stdout, /^no models in the cache/);
    const again = await runCli(['rm', REPO], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr.trim(), /^onnx-chat rm: not in the cache: onnx-test\/gemma3n-fake \(.*\)$/);
  });
});
