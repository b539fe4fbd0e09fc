import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AuditRecord } from '../../ports/audit-log.ts';
import { createFileAuditLog } from './file-audit-log.ts';

const record = (connector: string): AuditRecord => ({ at: new Date().toISOString(), actor: 'ops', action: 'reload', connector, result: 'ok' });

test('a write that fails fails alone: the next one is written', async () => {
  const root = mkdtempSync(join(tmpdir(), 'audit-'));
  try {
    const blocker = join(root, 'logs');
    const audit = createFileAuditLog(join(blocker, 'audit.jsonl'));
    // A file where the log's folder should be: the write cannot happen.
    writeFileSync(blocker, 'not a folder');
    await assert.rejects(audit.append(record('first')));
    rmSync(blocker);
    await audit.append(record('second'));
    assert.deepEqual((await audit.recent(10)).map((r) => r.connector), ['second']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
