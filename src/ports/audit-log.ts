/** One lifecycle change, as the audit trail keeps it. */
export interface AuditRecord {
  readonly at: string;
  /** The admin key's name, or `watcher` / `system`. */
  readonly actor: string;
  readonly action: string;
  readonly connector: string;
  readonly from?: string;
  readonly to?: string;
  readonly result: 'ok' | 'failed';
  readonly problem?: { readonly stage: string; readonly message: string };
  /** For `configure`: the fields of the run-time config it set, by name, never values (empty: it was dropped). */
  readonly fields?: readonly string[];
  readonly requestId?: string;
  readonly traceId?: string;
}

/** An append-only trail of who changed which connector, from which version to which, and how it went. */
export interface AuditLog {
  append(record: AuditRecord): Promise<void>;
  /** Newest first. */
  recent(limit: number): Promise<readonly AuditRecord[]>;
}
