/**
 * Errors of the store carry a code; the CLI and the bot turn them into a message and an exit
 * code at the edge. Messages say what is wrong and how to recover.
 */
export type StoreErrorCode =
  /** The store file is not valid JSON or does not match the schema. Never overwritten. */
  | "damaged"
  /** The store file (or its directory) cannot be read: permissions, I/O error. */
  | "unreadable"
  /** The store file is gone but backups (or files kept aside) show there was one: an empty store is not created over them. */
  | "missing"
  /** Written by a newer trailhound (higher schemaVersion than this build knows). */
  | "newer-version"
  /** A write to disk failed (disk full, permissions...). Nothing of it is on disk; a running process keeps it in memory and retries with its next write. */
  | "write-failed"
  /** Another process replaced the store file since this one read or wrote it. */
  | "conflict"
  /** A caller passed something invalid (missing reason, `until` in the past, unknown scope...). */
  | "invalid"
  /** The finding, suppression or digest does not exist. */
  | "not-found"
  /** The store was closed. */
  | "closed"
  /** No usable backup to restore. */
  | "no-backup";

/** For code "conflict": what happened. */
export type ConflictReason = "replaced" | "missing" | "locked" | "open-twice";

export class StoreError extends Error {
  override readonly name = "StoreError";
  readonly reason?: ConflictReason;
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown; reason?: ConflictReason },
  ) {
    super(message, options);
    if (options?.reason) this.reason = options.reason;
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}

/** How to recover a store that cannot be opened, for error messages. */
export function recoveryHint(dir: string): string {
  const d = /\s/.test(dir) ? JSON.stringify(dir) : dir;
  return (
    `Check it with \`trailhound store check --store ${d}\`, then restore the newest good backup with ` +
    `\`trailhound store restore --store ${d} [BACKUP]\` (the current file is moved aside, never deleted).`
  );
}
