/** The store of trailhound: one durable lowdb JSON file per data directory. */
export * from "./types.js";
export { StoreError, isStoreError, recoveryHint, type StoreErrorCode, type ConflictReason } from "./errors.js";
export {
  TrailStore,
  AUDIT_CAP,
  SCANS_KEPT,
  DIGESTS_KEPT,
  WARN_BYTES,
  type When,
  type CursorStore,
  type StoreOptions,
  type RecordKind,
  type RecordResult,
  type SuppressInput,
  type CreateDigestInput,
  type StoreStats,
  type PruneResult,
  type PruneOptions,
  PRUNE_DEFAULTS,
} from "./store.js";
export { pruneSettingsFromEnv, startPruneSchedule, type PruneSettings, type PruneSchedule } from "./prune-schedule.js";
export {
  STORE_FILE,
  BACKUP_DIR,
  KEEP_BACKUPS,
  storeFile,
  backupDir,
  checkStore,
  listBackups,
  restoreBackup,
  formatBytes,
  type BackupInfo,
  type BackupKind,
  type StoreCheck,
  type StoreCounts,
  type RestoreResult,
} from "./maintenance.js";
export { MIGRATIONS, migrate, detectVersion, type Migration } from "./migrations.js";
export { DurableJSONFile, writeFileDurable, acquireLock, type Codec } from "./durable-file.js";
export { decodeStore } from "./codec.js";
export type { BaselineFacts } from "./baselines.js";
