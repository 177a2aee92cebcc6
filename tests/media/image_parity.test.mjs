// pixel_values of the C++ media layer (through build/media-dump) against transformers.js'
// SiglipImageProcessor with the Gemma-3n preprocessor config. Test images are generated here with
// sharp into a temporary folder. Where the references disagree (alpha), the expectation is the
// image composited on white first (the Python pipeline), per the spec. Tolerances: docs/media.md.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { SiglipImageProcessor, RawImage } from '@huggingface/transformers';
import { compare, encodeBmp, gemma3nPreprocessorConfig, mediaDump, testPattern } from '../lib/media.mjs';

const ONE_LSB = 1 / 255 + 1e-6;
let dir;
let configPath;
const processor = new SiglipImageProcessor(gemma3nPreprocessorConfig);

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oc-media-img-'));
  configPath = path.join(dir, 'preprocessor_config.json');
  fs.writeFileSync(configPath, JSON.stringify(gemma3nPreprocessorConfig));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const raw = (w, h, ch = 3, seed = 1) => sharp(Buffer.from(testPattern(w, h, ch, seed)), { raw: { width: w, height: h, channels: ch } });

// name, encoder -> file bytes, expectation source (bytes for transformers.js), tolerance.
// `exact`: max diff 0 expected; `lsb`: within one 8-bit step on a few pixels (decoder or
// compositing rounding, or the libvips upscaling weights on exact .5 boundaries).
const cases = [
  { name: '1x1 PNG', make: () => raw(1, 1).png().toBuffer(), tol: 'exact' },
  { name: '4000x3000 JPEG (landscape)', make: () => raw(4000, 3000).jpeg({ quality: 90 }).toBuffer(), tol: 'exact' },
  { name: '900x1600 JPEG (portrait, 4:2:0)', make: () => raw(900, 1600, 3, 2).jpeg({ quality: 80 }).toBuffer(), tol: 'exact' },
  { name: '333x777 JPEG 4:4:4 (odd size, upscale x)', make: () => raw(333, 777, 3, 3).jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer(), tol: 'lsb' },
  { name: '120x90 PNG (upscale)', make: () => raw(120, 90, 3, 4).png().toBuffer(), tol: 'lsb' },
  { name: 'grayscale JPEG (upscale)', make: () => raw(640, 480, 1, 5).jpeg().toBuffer(), tol: 'lsb' },
  { name: 'grayscale PNG', make: () => raw(800, 600, 1, 6).png().toBuffer(), tol: 'lsb' },
  { name: 'palette PNG', make: () => raw(1024, 768, 3, 7).png({ palette: true, colours: 64 }).toBuffer(), tol: 'exact' },
  { name: 'RGBA PNG (alpha over white)', make: () => raw(1000, 800, 4, 8).png().toBuffer(), alpha: true, tol: 'exact' },
  { name: 'WebP lossy', make: () => raw(1200, 900, 3, 9).webp({ quality: 80 }).toBuffer(), tol: 'lsb' },
  { name: 'WebP lossless with alpha (800x800 to 768x768)', make: () => raw(800, 800, 4, 10).webp({ lossless: true }).toBuffer(), alpha: true, tol: 'lsb' },
  { name: 'GIF (first frame, upscale)', make: () => raw(320, 240, 3, 11).gif().toBuffer(), tol: 'lsb' },
  { name: 'BMP 24-bit', bmp: [1280, 720], tol: 'exact' },
  ...[2, 3, 4, 5, 6, 7, 8].map((o) => ({
    name: `EXIF orientation ${o} JPEG`,
    make: () => raw(1600, 1000, 3, 20 + o).jpeg({ quality: 90 }).withMetadata({ orientation: o }).toBuffer(),
    tol: 'exact',
  })),
];

// Python's convert_rgb: Image.alpha_composite on opaque white (Pillow's integer rounding, which
// equals round((c * a + 255 * (255 - a)) / 255)), then drop alpha; EXIF orientation applied first.
async function overWhite(bytes) {
  const { data, info } = await sharp(bytes).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const rgb = new Uint8ClampedArray(n * 3);
  for (let i = 0; i < n; ++i) {
    const a = data[i * 4 + 3];
    for (let c = 0; c < 3; ++c) rgb[i * 3 + c] = Math.floor((data[i * 4 + c] * a + 255 * (255 - a) + 127) / 255);
  }
  return new RawImage(rgb, info.width, info.height, 3);
}

async function expected(c, bytes, bmpRgb) {
  let image;
  if (bmpRgb) {
    image = new RawImage(new Uint8ClampedArray(bmpRgb), c.bmp[0], c.bmp[1], 3);
  } else {
    image = c.alpha ? await overWhite(bytes) : await RawImage.fromBlob(new Blob([bytes]));
  }
  const { pixel_values } = await processor(image);
  return pixel_values;
}

for (const c of cases) {
  test(`pixel_values parity: ${c.name}`, async () => {
    const file = path.join(dir, c.name.replace(/[^a-z0-9]+/gi, '_'));
    let bytes;
    let bmpRgb = null;
    if (c.bmp) {
      bmpRgb = testPattern(c.bmp[0], c.bmp[1], 3, 12);
      bytes = encodeBmp(bmpRgb, c.bmp[0], c.bmp[1]);
    } else {
      bytes = await c.make();
    }
    fs.writeFileSync(file, bytes);
    const want = await expected(c, bytes, bmpRgb);
    const out = file + '.f32';
    const got = mediaDump(['image', configPath, file, out], out);
    assert.ok(!got.error, got.error);
    assert.deepEqual(got.shape, want.dims.slice(1));
    const d = compare(got.data, want.data);
    const meta = await sharp(bytes).metadata().catch(() => ({}));
    const size = meta.width ? `${meta.width}x${meta.height}` : c.bmp?.join('x');
    console.log(
      `# parity ${c.name.padEnd(42)} ${String(size).padEnd(10)} max ${d.max.toExponential(2)}  mean ${d.mean.toExponential(2)}  differing ${(100 * d.differing).toFixed(3)}%`,
    );
    if (c.tol === 'exact') {
      assert.ok(d.max <= 1e-6, `${c.name}: max abs diff ${d.max} (mean ${d.mean}), expected exact`);
    } else {
      assert.ok(d.max <= ONE_LSB, `${c.name}: max abs diff ${d.max} > 1/255`);
      assert.ok(d.mean <= 5e-5, `${c.name}: mean abs diff ${d.mean}`);
    }
  });
}
