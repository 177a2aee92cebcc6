// The server's API as the page uses it: /ready (loading progress), /v1/models, streamed
// /v1/chat/completions.
import { createParser } from 'eventsource-parser';

export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const headers = (key) => ({ 'Content-Type': 'application/json', ...(key ? { Authorization: `Bearer ${key}` } : {}) });

async function errorOf(res) {
  const text = await res.text();
  try {
    const e = JSON.parse(text).error;
    return new ApiError(e.message, res.status, e.code);
  } catch {
    return new ApiError(`HTTP ${res.status}: ${text.slice(0, 300) || res.statusText}`, res.status);
  }
}

// {ready: bool, ...the /ready body}
export async function readiness() {
  const res = await fetch('/ready', { cache: 'no-store' });
  const body = await res.json().catch(() => ({}));
  return { ready: res.ok, ...body };
}

export async function listModels(key) {
  const res = await fetch('/v1/models', { headers: headers(key) });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()).data;
}

// Streams a chat completion: onDelta(text) per content delta; resolves to {usage, timings,
// finish_reason}. Aborting `signal` closes the connection, which cancels the request on the server.
export async function streamChat(body, { key, signal, onDelta }) {
  const res = await fetch('/v1/chat/completions', {
    method: 'POST',
    headers: headers(key),
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!res.ok) throw await errorOf(res);
  const out = { usage: null, timings: null, finish_reason: null };
  let failure = null;
  const parser = createParser({
    onEvent(ev) {
      if (ev.data === '[DONE]') return;
      const chunk = JSON.parse(ev.data);
      if (chunk.error) {
        failure = new ApiError(chunk.error.message, 0, chunk.error.code);
        return;
      }
      const choice = chunk.choices?.[0];
      if (choice?.delta?.content) onDelta(choice.delta.content);
      if (choice?.finish_reason) out.finish_reason = choice.finish_reason;
      if (chunk.usage) out.usage = chunk.usage;
      if (chunk.timings) out.timings = chunk.timings;
    },
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  if (failure) throw failure;
  return out;
}
