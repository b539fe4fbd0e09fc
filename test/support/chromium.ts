import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { waitFor } from './wait.ts';

/** A headless Chromium (Debian's `chromium`), driven over the Chrome DevTools Protocol. */
export interface Browser {
  /** Opens `url` in a new tab and evaluates `expression` (awaiting a promise) there: its JSON value. */
  evaluateOn(url: string, expression: string): Promise<unknown>;
  close(): Promise<void>;
}

/** Starts Chromium with a throwaway profile and connects to its DevTools endpoint. */
export async function launchChromium(binary = process.env.CHROMIUM_BIN ?? 'chromium'): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'omnigate-chromium-'));
  const proc: ChildProcess = spawn(binary, ['--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let err = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (found?.[1]) resolve(found[1]);
    });
    proc.once('exit', (code) => reject(new Error(`chromium exited (${code}) before its DevTools endpoint was up:\n${err.slice(-2000)}`)));
  });
  const socket = new WebSocket(endpoint, { perMessageDeflate: false });
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  let nextId = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  socket.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter || message.id === undefined) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error.message));
    else waiter.resolve(message.result);
  });
  const send = <T>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> => {
    const id = ++nextId;
    socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return new Promise<T>((resolve, reject) => pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  };
  return {
    async evaluateOn(url, expression) {
      const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url });
      const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
      try {
        // The page is there once its document is loaded at the URL asked for.
        await waitFor(`the page ${url}`, async () => {
          const { result } = await send<{ result: { value?: string } }>('Runtime.evaluate', { expression: 'document.readyState === "complete" ? location.href : ""', returnByValue: true }, sessionId);
          return result.value?.startsWith(url);
        });
        const { result, exceptionDetails } = await send<{ result: { value?: unknown }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true }, sessionId);
        if (exceptionDetails) throw new Error(`page threw: ${exceptionDetails.text}`);
        return result.value;
      } finally {
        await send('Target.closeTarget', { targetId });
      }
    },
    async close() {
      socket.close();
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
