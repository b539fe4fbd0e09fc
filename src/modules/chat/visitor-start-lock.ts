import { randomUUID } from 'node:crypto';
import { AppError } from '../../kernel/errors.ts';
import type { LeaseStore } from '../../ports/lease-store.ts';

/** How long a start may hold its visitor's lock: a node that dies holding it frees it then. */
export const START_LOCK_TTL_MS = 5_000;
const ATTEMPTS = 40;

/**
 * Runs `fn` holding the visitor's start lock, so that the starts of one visitor, on any node, run
 * one at a time: a count of its open conversations followed by an append is then a check that
 * holds. A start that waits longer than a few seconds for the lock gives up with CONVERSATION_BUSY.
 */
export async function withVisitorStartLock<T>(locks: LeaseStore, visitorId: string, fn: () => Promise<T>): Promise<T> {
  const key = `omnigate:chat:start-lock:${visitorId}`;
  const holder = randomUUID();
  for (let attempt = 0; !(await locks.acquire(key, holder, START_LOCK_TTL_MS)); attempt += 1) {
    if (attempt >= ATTEMPTS) throw new AppError('CONVERSATION_BUSY', `another conversation of visitor ${visitorId} is being started; try again`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, 5 * 2 ** Math.min(attempt, 5))));
  }
  try {
    return await fn();
  } finally {
    await locks.release(key, holder).catch(() => undefined);
  }
}
