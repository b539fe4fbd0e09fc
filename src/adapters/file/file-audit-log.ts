import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditLog, AuditRecord } from '../../ports/audit-log.ts';

/** The audit trail as JSON lines in one file, appended in order; it survives restarts. */
export function createFileAuditLog(path: string): AuditLog {
  /** The queue of writes; it never holds a failure, or one failed write would fail all later ones. */
  let writes = Promise.resolve();
  return {
    append(record) {
      // One write at a time keeps lines whole and in order.
      const write = writes.then(async () => {
        await mkdir(dirname(path), { recursive: true });
        await appendFile(path, `${JSON.stringify(record)}\n`);
      });
      writes = write.catch(() => undefined);
      return write;
    },
    async recent(limit) {
      await writes;
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        return [];
      }
      return text
        .split('\n')
        .filter((line) => line.trim() !== '')
        .slice(-limit)
        .map((line) => JSON.parse(line) as AuditRecord)
        .reverse();
    },
  };
}
