// The chat page: conversations, composer with attachments, streamed answers, model picker,
// settings, theme, loading progress.
import './style.css';
import { renderMarkdown } from './markdown.js';
import { listConversations, getConversation, saveConversation, deleteConversation, newConversation, matches } from './store.js';
import { partFromFile, startRecording, apiPart, modalityOf } from './media.js';
import { readiness, listModels, streamChat } from './api.js';
import { icons, placeIcons } from './icons.js';

const $ = (sel) => document.querySelector(sel);
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c != null));
  return e;
};

const ui = {
  app: $('#app'), list: $('#conversations'), search: $('#search'), messages: $('#messages'), empty: $('#empty'),
  model: $('#model'), badges: $('#modalities'), input: $('#input'), form: $('#composer'), send: $('#send'),
  stop: $('#stop'), file: $('#file'), attachments: $('#attachments'), error: $('#error'), record: $('#record'),
  drop: $('#drop'), loading: $('#loading'), settings: $('#settings'),
};

placeIcons();

// ---- settings and theme (localStorage) ----
const DEFAULTS = { system: '', temperature: '', top_p: '', top_k: '', max_tokens: '', repetition_penalty: '', seed: '', api_key: '' };
let settings = { ...DEFAULTS, ...JSON.parse(localStorage.getItem('onnx-chat.settings') || '{}') };

function applyTheme() {
  const pref = localStorage.getItem('onnx-chat.theme') || 'auto';
  const dark = pref === 'dark' || (pref === 'auto' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
  $('#theme').title = `Theme: ${pref} (click to change)`;
}
$('#theme').onclick = () => {
  const order = ['auto', 'light', 'dark'];
  const pref = localStorage.getItem('onnx-chat.theme') || 'auto';
  localStorage.setItem('onnx-chat.theme', order[(order.indexOf(pref) + 1) % 3]);
  applyTheme();
};
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', applyTheme);
applyTheme();

$('#open-settings').onclick = () => {
  const f = ui.settings.querySelector('form');
  for (const [k, v] of Object.entries(settings)) if (f.elements[k]) f.elements[k].value = v;
  ui.settings.showModal();
};
ui.settings.addEventListener('close', () => {
  const f = ui.settings.querySelector('form');
  if (ui.settings.returnValue === 'save') for (const k of Object.keys(DEFAULTS)) settings[k] = f.elements[k].value.trim();
  else if (ui.settings.returnValue === 'reset') settings = { ...DEFAULTS, api_key: settings.api_key };
  else return;
  localStorage.setItem('onnx-chat.settings', JSON.stringify(settings));
  if (ui.settings.returnValue === 'save') loadModels();
});

function samplingParams() {
  const p = {};
  for (const k of ['temperature', 'top_p', 'top_k', 'max_tokens', 'repetition_penalty', 'seed'])
    if (settings[k] !== '' && !Number.isNaN(Number(settings[k]))) p[k] = Number(settings[k]);
  return p;
}

// ---- models ----
let models = [];
const currentModel = () => models.find((m) => m.id === ui.model.value);

function showModalities() {
  const m = currentModel();
  ui.badges.replaceChildren();
  if (!m) return;
  for (const [name, s] of Object.entries(m.modalities || {})) {
    if (name === 'text') continue;
    const b = el('span', { className: `badge ${s.supported ? 'on' : 'off'}`, textContent: name });
    b.dataset.modality = name;
    b.title = !s.supported ? `${m.id} does not take ${name} input` : s.loaded ? `${name} encoder loaded` : `${name} encoder loads on first use`;
    ui.badges.append(b);
  }
}

async function loadModels() {
  try {
    models = await listModels(settings.api_key);
  } catch (e) {
    showError(e.message);
    return;
  }
  const keep = localStorage.getItem('onnx-chat.model');
  ui.model.replaceChildren(...models.map((m) => {
    const mods = Object.entries(m.modalities || {}).filter(([, s]) => s.supported).map(([k]) => k).join('+');
    return el('option', { value: m.id, textContent: `${m.id} · ${mods}` });
  }));
  if (models.some((m) => m.id === keep)) ui.model.value = keep;
  showModalities();
}
ui.model.onchange = () => {
  localStorage.setItem('onnx-chat.model', ui.model.value);
  showModalities();
  checkAttachments();
};

// ---- loading state (/ready) ----
const mib = (b) => `${(b / 1048576).toFixed(b < 10 * 1048576 ? 1 : 0)} MiB`;
async function watchReady() {
  for (;;) {
    let r;
    try {
      r = await readiness();
    } catch {
      r = { ready: false, status: 'unreachable', message: 'The server does not answer; retrying…' };
    }
    if (r.ready) {
      ui.loading.hidden = true;
      await loadModels();
      return;
    }
    ui.loading.hidden = false;
    const d = r.download;
    let text = r.message || r.error?.message || 'Loading the model…';
    if (r.phase === 'downloading' && d) {
      text = `Downloading ${r.model || 'the model'}: ${mib(d.done_bytes)} of ${mib(d.total_bytes)}, file ${Math.min(d.files_done + 1, d.files_total)} of ${d.files_total}` +
        (d.eta_s >= 0 ? `, about ${Math.ceil(d.eta_s)} s left` : '');
      $('#loading-bar').value = d.total_bytes ? d.done_bytes / d.total_bytes : 0;
      $('#loading-files').replaceChildren(...(d.active || []).map((f) => el('li', { textContent: `${f.path}: ${mib(f.done)} / ${mib(f.total)}` })));
    } else {
      $('#loading-bar').removeAttribute('value');
      $('#loading-files').replaceChildren();
      if (r.phase === 'loading') text = `Loading ${r.model || 'the model'} into memory…`;
    }
    $('#loading-text').textContent = text;
    await new Promise((res) => setTimeout(res, r.status === 'unreachable' ? 3000 : 700));
  }
}

// ---- conversations ----
let conv = null; // the open conversation
let generating = null; // {controller, conv}

let listSeq = 0; // only the latest refresh draws (they overlap while IndexedDB answers)
async function refreshList() {
  const seq = ++listSeq;
  const q = ui.search.value.trim();
  const stored = await listConversations();
  if (seq !== listSeq) return;
  const all = stored.filter((c) => matches(c, q));
  ui.list.replaceChildren(...all.map((c) => {
    const li = el('li', { className: c.id === conv?.id ? 'active' : '' });
    li.dataset.id = c.id;
    const title = el('button', { className: 'title', textContent: c.title || 'New chat', title: c.title || 'New chat' });
    title.onclick = () => openConversation(c.id);
    const rename = el('button', { className: 'act rename', innerHTML: icons.pencil, title: 'Rename' });
    rename.setAttribute('aria-label', `Rename ${c.title}`);
    rename.onclick = () => startRename(li, c);
    const del = el('button', { className: 'act delete', innerHTML: icons.trash, title: 'Delete' });
    del.setAttribute('aria-label', `Delete ${c.title}`);
    del.onclick = async () => {
      if (!confirm(`Delete "${c.title || 'New chat'}"?`)) return;
      await deleteConversation(c.id);
      if (conv?.id === c.id) startNew();
      refreshList();
    };
    li.append(title, rename, del);
    return li;
  }));
  if (!all.length) ui.list.append(el('li', { className: 'none', textContent: q ? 'No match' : 'No conversations yet' }));
}

function startRename(li, c) {
  const input = el('input', { value: c.title, className: 'title' });
  input.setAttribute('aria-label', 'New name');
  li.replaceChildren(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (save) => {
    if (done) return;
    done = true;
    if (save && input.value.trim()) {
      const stored = (await getConversation(c.id)) || c;
      stored.title = input.value.trim();
      await saveConversation(stored);
      if (conv?.id === c.id) conv.title = stored.title;
    }
    refreshList();
  };
  input.onkeydown = (e) => {
    if (e.key === 'Enter') finish(true);
    if (e.key === 'Escape') { e.stopPropagation(); finish(false); }
  };
  input.onblur = () => finish(true);
}

async function openConversation(id) {
  conv = (await getConversation(id)) || newConversation();
  location.hash = conv.id;
  renderAll();
  refreshList();
  ui.app.classList.remove('side-open');
  ui.input.focus();
}

function startNew() {
  conv = newConversation();
  history.replaceState(null, '', location.pathname);
  renderAll();
  refreshList();
  ui.input.focus();
}

ui.search.oninput = refreshList;
$('#new-chat').onclick = startNew;
$('#open-sidebar').onclick = () => ui.app.classList.add('side-open');
$('#close-sidebar').onclick = () => ui.app.classList.remove('side-open');
$('#backdrop').onclick = () => ui.app.classList.remove('side-open');

// ---- messages ----
const nearBottom = () => ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 80;
const scrollDown = () => { ui.messages.scrollTop = ui.messages.scrollHeight; };

function statsText(s) {
  if (!s) return '';
  const bits = [];
  if (s.ttft_ms != null) bits.push(`TTFT ${Math.round(s.ttft_ms)} ms`);
  if (s.tokens_per_s) bits.push(`${s.tokens_per_s.toFixed(1)} tok/s`);
  if (s.tokens != null) bits.push(`${s.tokens} tokens`);
  if (s.stopped) bits.push('stopped');
  else if (s.finish_reason === 'length') bits.push('cut at max tokens');
  return bits.join(' · ');
}

function messageView(m, i) {
  const box = el('div', { className: `msg ${m.role}${m.error ? ' error' : ''}` });
  box.dataset.index = i;
  const media = el('div', { className: 'media' });
  for (const p of m.parts) {
    if (p.type === 'image') media.append(el('img', { src: p.url, alt: p.name, title: p.name }));
    if (p.type === 'audio') media.append(el('audio', { src: p.url, controls: true, title: p.name }));
    if (p.type === 'file') media.append(el('span', { className: 'file-chip', innerHTML: icons.file }, p.name));
  }
  if (media.childElementCount) box.append(media);
  const text = m.parts.filter((p) => p.type === 'text').map((p) => p.text).join('\n');
  const bubble = el('div', { className: 'bubble' });
  if (m.error) bubble.textContent = m.error;
  else if (m.role === 'assistant') {
    bubble.classList.add('md');
    bubble.append(renderMarkdown(text));
  } else bubble.textContent = text;
  if (text || m.error || m.role === 'assistant') box.append(bubble);
  const meta = el('div', { className: 'meta' });
  if (m.role === 'assistant') {
    meta.append(el('span', { className: 'stats', textContent: statsText(m.stats) }));
    const copy = el('button', { textContent: 'Copy', title: 'Copy the answer' });
    copy.onclick = () => copyText(text, copy);
    const regen = el('button', { className: 'regenerate', textContent: 'Regenerate', title: 'Answer again' });
    regen.onclick = () => regenerate(i);
    meta.append(copy, regen);
  } else if (m.role === 'user') {
    const edit = el('button', { className: 'edit-btn', textContent: 'Edit', title: 'Edit and send again' });
    edit.onclick = () => startEdit(box, i);
    meta.append(edit);
  }
  box.append(meta);
  return box;
}

function renderAll() {
  ui.messages.replaceChildren();
  if (!conv.messages.length) ui.messages.append(ui.empty);
  conv.messages.forEach((m, i) => ui.messages.append(messageView(m, i)));
  setBusy(generating?.conv === conv);
  scrollDown();
}

function startEdit(box, i) {
  if (generating) return;
  const m = conv.messages[i];
  const textPart = m.parts.find((p) => p.type === 'text');
  const area = el('textarea', { value: textPart?.text || '' });
  area.setAttribute('aria-label', 'Edit message');
  const save = el('button', { className: 'primary', textContent: 'Send', type: 'button' });
  const cancel = el('button', { textContent: 'Cancel', type: 'button' });
  const editor = el('div', { className: 'edit' }, area, el('div', { className: 'actions' }, cancel, save));
  box.replaceChildren(editor);
  area.focus();
  cancel.onclick = renderAll;
  save.onclick = async () => {
    const text = area.value.trim();
    m.parts = m.parts.filter((p) => p.type !== 'text');
    if (text) m.parts.push({ type: 'text', text });
    conv.messages.length = i + 1;
    await saveConversation(conv);
    renderAll();
    generate();
  };
  area.onkeydown = (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); save.click(); }
    if (e.key === 'Escape') { e.stopPropagation(); renderAll(); }
  };
}

async function regenerate(i) {
  if (generating) return;
  conv.messages.length = i;
  await saveConversation(conv);
  renderAll();
  generate();
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const t = el('textarea', { value: text });
    document.body.append(t);
    t.select();
    document.execCommand('copy');
    t.remove();
  }
  const was = button.textContent;
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = was; }, 1200);
}
ui.messages.addEventListener('click', (e) => {
  const b = e.target.closest('.code .copy');
  if (b) copyText(b.closest('.code').querySelector('pre').innerText, b);
});

// ---- composer ----
let pending = []; // parts waiting to be sent
let recorder = null;

function showError(text) {
  ui.error.textContent = text;
  ui.error.hidden = !text;
}

function renderAttachments() {
  ui.attachments.replaceChildren(...pending.map((p, i) => {
    const remove = el('button', { type: 'button', className: 'remove', innerHTML: icons.close, title: 'Remove' });
    remove.setAttribute('aria-label', `Remove ${p.name}`);
    remove.onclick = () => { pending.splice(i, 1); renderAttachments(); checkAttachments(); };
    const preview = p.type === 'image' ? el('img', { src: p.url, alt: p.name })
      : p.type === 'audio' ? el('audio', { src: p.url, controls: true }) : el('span', { innerHTML: icons.file });
    const a = el('div', { className: `att ${p.type}`, title: p.name }, preview, el('span', { className: 'name', textContent: p.name }), remove);
    return a;
  }));
}

const HOW_TO_ENABLE = (kind) => `(the server fetches its ${kind} encoder with --modalities ${kind}, or all, the default, when the model has one)`;

// The message for attachments the chosen model cannot take, or ''.
function attachmentProblem(parts = pending) {
  const m = currentModel();
  if (!m) return '';
  for (const kind of ['image', 'audio']) {
    if (parts.some((p) => p.type === kind) && !m.modalities?.[kind]?.supported)
      return `${m.id} does not take ${kind} input: remove the ${kind === 'image' ? 'images' : 'audio'} or pick a model that takes ${kind} ${HOW_TO_ENABLE(kind)}.`;
  }
  return '';
}
const checkAttachments = () => showError(attachmentProblem());

async function addFiles(files) {
  for (const f of files) {
    const kind = modalityOf(f);
    const m = currentModel();
    if (m && (kind === 'image' || kind === 'audio') && !m.modalities?.[kind]?.supported) {
      showError(`${m.id} does not take ${kind} input, so ${f.name || 'this file'} was not attached ${HOW_TO_ENABLE(kind)}.`);
      continue;
    }
    try {
      pending.push(await partFromFile(f));
      showError('');
    } catch (e) {
      showError(e.message);
    }
  }
  renderAttachments();
}

$('#attach').onclick = () => ui.file.click();
ui.file.onchange = () => { addFiles([...ui.file.files]); ui.file.value = ''; };
ui.input.addEventListener('paste', (e) => {
  const files = [...(e.clipboardData?.files || [])];
  if (files.length) {
    e.preventDefault();
    addFiles(files);
  }
});
let dragDepth = 0;
ui.app.addEventListener('dragenter', (e) => { if (e.dataTransfer?.types.includes('Files')) { dragDepth++; ui.drop.hidden = false; } });
ui.app.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; ui.drop.hidden = true; } });
ui.app.addEventListener('dragover', (e) => e.preventDefault());
ui.app.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  ui.drop.hidden = true;
  if (e.dataTransfer?.files.length) addFiles([...e.dataTransfer.files]);
});

ui.record.onclick = async () => {
  if (recorder) {
    const r = recorder;
    recorder = null;
    ui.record.classList.remove('recording');
    ui.record.setAttribute('aria-label', 'Record audio');
    try {
      pending.push(await r.stop());
      renderAttachments();
    } catch (e) {
      showError(`Recording failed: ${e.message}`);
    }
    return;
  }
  const m = currentModel();
  if (m && !m.modalities?.audio?.supported) return showError(`${m.id} does not take audio input ${HOW_TO_ENABLE('audio')}.`);
  try {
    recorder = await startRecording();
    ui.record.classList.add('recording');
    ui.record.setAttribute('aria-label', 'Stop recording');
  } catch (e) {
    showError(`The microphone is not available: ${e.message}`);
  }
};

const autosize = () => {
  ui.input.style.height = 'auto';
  ui.input.style.height = `${ui.input.scrollHeight}px`;
};
ui.input.addEventListener('input', autosize);
ui.input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    ui.form.requestSubmit();
  }
});

ui.form.onsubmit = async (e) => {
  e.preventDefault();
  if (generating) return;
  const text = ui.input.value.trim();
  if (!text && !pending.length) return;
  const problem = attachmentProblem();
  if (problem) return showError(problem);
  if (!currentModel()) return showError('No model yet: the server is still loading.');
  const parts = [...pending];
  if (text) parts.push({ type: 'text', text });
  conv.messages.push({ role: 'user', parts });
  if (!conv.title) conv.title = (text || parts[0].name).slice(0, 60);
  pending = [];
  ui.input.value = '';
  autosize();
  renderAttachments();
  showError('');
  await saveConversation(conv);
  location.hash = conv.id;
  renderAll();
  refreshList();
  generate();
};

function setBusy(busy) {
  ui.send.hidden = busy;
  ui.stop.hidden = !busy;
}
const stopGeneration = () => generating?.controller.abort();
ui.stop.onclick = stopGeneration;

function apiMessages(c) {
  const out = [];
  if (settings.system) out.push({ role: 'system', content: settings.system });
  for (const m of c.messages) {
    if (m.error) continue;
    if (m.role === 'assistant') out.push({ role: 'assistant', content: m.parts.map((p) => p.text).join('') });
    else out.push({ role: 'user', content: m.parts.map(apiPart) });
  }
  return out;
}

async function generate() {
  const c = conv;
  const answer = { role: 'assistant', parts: [{ type: 'text', text: '' }], stats: null, model: ui.model.value };
  const body = { model: ui.model.value, messages: apiMessages(c), ...samplingParams() };
  c.messages.push(answer);
  const controller = new AbortController();
  generating = { controller, conv: c };
  renderAll();
  const view = () => (conv === c ? ui.messages.querySelector(`.msg[data-index="${c.messages.indexOf(answer)}"]`) : null);
  view()?.querySelector('.bubble').classList.add('cursor');
  const t0 = performance.now();
  let tFirst = null;
  let queued = false;
  const paint = () => {
    queued = false;
    const v = view();
    if (!v) return;
    const follow = nearBottom();
    const bubble = v.querySelector('.bubble');
    bubble.replaceChildren(renderMarkdown(answer.parts[0].text));
    if (follow) scrollDown();
  };
  try {
    const r = await streamChat(body, {
      key: settings.api_key,
      signal: controller.signal,
      onDelta(d) {
        tFirst ??= performance.now();
        answer.parts[0].text += d;
        if (!queued) { queued = true; requestAnimationFrame(paint); }
      },
    });
    const t1 = performance.now();
    const tokens = r.usage?.completion_tokens;
    answer.stats = {
      ttft_ms: tFirst != null ? tFirst - t0 : null,
      tokens,
      tokens_per_s: r.timings?.decode_tokens_per_second || (tokens > 1 && tFirst != null ? (tokens - 1) / ((t1 - tFirst) / 1000) : null),
      finish_reason: r.finish_reason,
    };
  } catch (e) {
    if (e.name === 'AbortError') {
      answer.stats = { ttft_ms: tFirst != null ? tFirst - t0 : null, stopped: true };
    } else {
      if (!answer.parts[0].text) {
        answer.error = e.message;
      } else answer.stats = { ttft_ms: tFirst != null ? tFirst - t0 : null };
      if (answer.parts[0].text) c.messages.push({ role: 'assistant', parts: [{ type: 'text', text: '' }], error: e.message });
    }
  } finally {
    generating = null;
    await saveConversation(c);
    if (conv === c) renderAll();
    refreshList();
    ui.input.focus();
  }
}

// ---- keyboard ----
document.addEventListener('keydown', (e) => {
  const mod = e.ctrlKey || e.metaKey;
  if (e.key === 'Escape') {
    if (generating) { e.preventDefault(); stopGeneration(); }
    ui.app.classList.remove('side-open');
  } else if (mod && e.key.toLowerCase() === 'k') {
    e.preventDefault();
    ui.app.classList.add('side-open');
    ui.search.focus();
  } else if (mod && e.shiftKey && e.key.toLowerCase() === 'o') {
    e.preventDefault();
    startNew();
  }
});

// ---- start ----
(async () => {
  const id = location.hash.slice(1);
  if (id && (await getConversation(id))) await openConversation(id);
  else startNew();
  watchReady();
})();
