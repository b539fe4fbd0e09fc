import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../../kernel/logger.ts';
import type { Lifecycle } from './lifecycle.ts';

export const WATCH_DEBOUNCE_MS = 300;

/**
 * Development only (OMNIGATE_WATCH_CONNECTORS=true): reloads a connector when a file in its
 * folder changes, debounced; a bad save fails the reload and the previous version keeps serving.
 */
export function watchConnectors(deps: { dir: string; lifecycle: Lifecycle; log: Logger }): { close(): void } {
  const timers = new Map<string, NodeJS.Timeout>();
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(deps.dir, { recursive: true }, (_event, file) => {
      const connector = String(file ?? '').split(/[\\/]/)[0];
      if (!connector || connector.startsWith('.') || String(file).includes('node_modules')) return;
      clearTimeout(timers.get(connector));
      timers.set(
        connector,
        setTimeout(() => {
          timers.delete(connector);
          void deps.lifecycle.execute({ action: 'reload', connector, actor: 'watcher' });
        }, WATCH_DEBOUNCE_MS),
      );
    });
    deps.log.info({ dir: deps.dir }, 'watching connectors for changes');
  } catch (err) {
    deps.log.error({ err, dir: deps.dir }, 'could not watch the connectors folder');
  }
  return {
    close() {
      watcher?.close();
      for (const timer of timers.values()) clearTimeout(timer);
    },
  };
}
