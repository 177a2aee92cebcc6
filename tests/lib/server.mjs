// Starts and stops `onnx-chat serve` for end-to-end tests: an ephemeral loopback port (the server
// binds port 0 and logs the port it got), waiting for /ready, and collected logs for failures.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { binPath } from './paths.mjs';
import { ensureFixtures } from './fixtures.mjs';

/** The folder of a fixture model, generated on demand. */
export function fixtureModel(name = 'gemma3n-tiny') {
  return path.join(ensureFixtures([name]), name);
}

/**
 * Starts a server. Returns {url, baseURL, port, proc, logs(), stop(signal)}.
 * @param {{model?: string, args?: string[], env?: Record<string,string>, ready?: boolean, timeoutMs?: number,
 *          port?: number|null}} opts  port null: no --port flag (the environment decides)
 */
export async function startServer({ model = fixtureModel(), args = [], env = {}, ready = true, timeoutMs = 60000, port = 0 } = {}) {
  const childEnv = { ...process.env };
  // The server's own settings come from the test, never from the caller's environment.
  for (const k of Object.keys(childEnv)) if (k.startsWith('ONNX_CHAT_') && k !== 'ONNX_CHAT_LOG_LEVEL') delete childEnv[k];
  delete childEnv.COMFYAI_ONNX_PORT;
  // Tests compare outputs with transformers.js, which multiplies 4-bit weights as exported: the
  // export's own matmul precision unless a test asks for another.
  childEnv.ONNX_CHAT_MATMUL_PRECISION = 'exact';
  const portArgs = port === null ? [] : ['--port', String(port)];
  const proc = spawn(binPath(), ['serve', '--model', model, '--host', '127.0.0.1', ...portArgs, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...childEnv, ...env },
  });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));

  const boundPort = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not report its port:\n${out}`)), timeoutMs);
    const onData = () => {
      const m = out.match(/listening on http:\/\/[^:\s]+:(\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${out}`));
    });
  });
  const url = `http://127.0.0.1:${boundPort}`;
  const server = {
    url,
    baseURL: `${url}/v1`,
    port: boundPort,
    proc,
    exited,
    logs: () => out,
    /** Sends a signal (SIGTERM by default) and resolves with {code, signal} once it exited. */
    async stop(signal = 'SIGTERM', killAfterMs = 20000) {
      if (proc.exitCode !== null || proc.signalCode !== null) return exited;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
  if (ready) await waitReady(server, timeoutMs);
  return server;
}

export async function waitReady(server, timeoutMs = 60000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (server.proc.exitCode !== null) throw new Error(`server exited (${server.proc.exitCode}):\n${server.logs()}`);
    try {
      const r = await fetch(`${server.url}/ready`);
      if (r.status === 200) return;
    } catch {
      // not accepting yet
    }
    if (Date.now() > end) throw new Error(`server not ready after ${timeoutMs} ms:\n${server.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A port that was free a moment ago. */
export async function freePort() {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** POST JSON (or a raw string body); returns {status, headers, json, text}. */
export async function post(server, route, body, headers = {}) {
  const r = await fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, headers: r.headers, json, text };
}

/** Reads a Prometheus metric value from /metrics (first sample of that name), or null. */
export async function metric(server, name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, 'm'));
  return m ? Number(m[1]) : null;
}

/** Parses an SSE body into the parsed `data:` payloads ('[DONE]' kept as the string). */
export function parseSSE(text) {
  const events = [];
  for (const block of text.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (!line.startsWith('data: ')) continue;
      const data = line.slice(6);
      events.push(data === '[DONE]' ? data : JSON.parse(data));
    }
  }
  return events;
}
