// Attachments: files (picker, paste, drop) and microphone recordings become message parts the
// chat API takes: images as data URLs, audio as base64 in a format the server decodes (WAV, MP3,
// FLAC, Ogg); other audio (a browser recording is WebM/Opus) is decoded by the browser and sent as
// 16 kHz mono WAV. Text files become text parts.
const SERVER_AUDIO = { 'audio/wav': 'wav', 'audio/x-wav': 'wav', 'audio/wave': 'wav', 'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3', 'audio/flac': 'flac', 'audio/x-flac': 'flac', 'audio/ogg': 'ogg', 'audio/opus': 'opus' };
const SERVER_IMAGE = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp']);
const TEXT_EXT = /\.(txt|md|markdown|json|csv|tsv|py|js|mjs|ts|c|cc|cpp|h|hpp|rs|go|java|sh|ya?ml|toml|html|css|xml|sql|log)$/i;

const readAs = (blob, how) => new Promise((resolve, reject) => {
  const r = new FileReader();
  r.onload = () => resolve(r.result);
  r.onerror = () => reject(r.error);
  r[how](blob);
});

export function modalityOf(file) {
  if (file.type.startsWith('image/')) return 'image';
  if (file.type.startsWith('audio/') || /\.(wav|mp3|flac|ogg|opus|webm|m4a)$/i.test(file.name)) return 'audio';
  if (file.type.startsWith('text/') || TEXT_EXT.test(file.name) || file.type === 'application/json') return 'text';
  return null;
}

async function imagePart(file) {
  let url;
  if (SERVER_IMAGE.has(file.type)) {
    url = await readAs(file, 'readAsDataURL');
  } else {
    // SVG, AVIF, HEIC, ...: let the browser decode it and send PNG.
    const bmp = await createImageBitmap(file);
    const canvas = document.createElement('canvas');
    canvas.width = bmp.width;
    canvas.height = bmp.height;
    canvas.getContext('2d').drawImage(bmp, 0, 0);
    url = canvas.toDataURL('image/png');
  }
  return { type: 'image', name: file.name || 'image', url };
}

// 16-bit PCM WAV of mono samples.
function wavBytes(samples, rate) {
  const buf = new ArrayBuffer(44 + samples.length * 2);
  const v = new DataView(buf);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, 'RIFF'); v.setUint32(4, 36 + samples.length * 2, true); str(8, 'WAVE');
  str(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, 1, true);
  v.setUint32(24, rate, true); v.setUint32(28, rate * 2, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  str(36, 'data'); v.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) v.setInt16(44 + i * 2, Math.max(-1, Math.min(1, samples[i])) * 0x7fff, true);
  return new Blob([buf], { type: 'audio/wav' });
}

async function toWav(blob) {
  const ctx = new AudioContext();
  try {
    const decoded = await ctx.decodeAudioData(await blob.arrayBuffer());
    const rate = 16000;
    const off = new OfflineAudioContext(1, Math.max(1, Math.ceil(decoded.duration * rate)), rate);
    const src = off.createBufferSource();
    src.buffer = decoded;
    src.connect(off.destination);
    src.start();
    const out = await off.startRendering();
    return wavBytes(out.getChannelData(0), rate);
  } finally {
    ctx.close();
  }
}

async function audioPart(blob, name) {
  let format = SERVER_AUDIO[blob.type.split(';')[0]] || (name.match(/\.(wav|mp3|flac|ogg|opus)$/i) || [])[1]?.toLowerCase();
  if (!format) {
    blob = await toWav(blob);
    format = 'wav';
  }
  const url = await readAs(blob, 'readAsDataURL');
  return { type: 'audio', name, format, url };
}

// A part for a File, or throws with a message for the user.
export async function partFromFile(file) {
  const kind = modalityOf(file);
  if (kind === 'image') return imagePart(file);
  if (kind === 'audio') return audioPart(file, file.name || 'audio');
  if (kind === 'text') {
    if (file.size > 512 * 1024) throw new Error(`${file.name} is larger than 512 KiB`);
    return { type: 'file', name: file.name, text: await file.text() };
  }
  throw new Error(`${file.name || 'this file'}: only images, audio and text files can be attached`);
}

// Microphone recording with MediaRecorder; stop() resolves to an audio part.
export async function startRecording() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const rec = new MediaRecorder(stream);
  const chunks = [];
  rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  const stopped = new Promise((resolve) => { rec.onstop = resolve; });
  rec.start();
  const started = Date.now();
  return {
    async stop() {
      rec.stop();
      await stopped;
      stream.getTracks().forEach((t) => t.stop());
      const blob = new Blob(chunks, { type: rec.mimeType || 'audio/webm' });
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      return audioPart(blob, `recording (${secs} s)`);
    },
  };
}

// The OpenAI content part of a stored part.
export function apiPart(p) {
  if (p.type === 'text') return { type: 'text', text: p.text };
  if (p.type === 'image') return { type: 'image_url', image_url: { url: p.url } };
  if (p.type === 'audio') return { type: 'input_audio', input_audio: { data: p.url.slice(p.url.indexOf(',') + 1), format: p.format } };
  return { type: 'text', text: `File ${p.name}:\n\`\`\`\n${p.text}\n\`\`\`` };
}
