/**
 * Backups and the `trailhound store check|restore` commands.
 *
 * Backups live in `<dir>/backups/`:
 *   trailhound.<timestamp>.v<N>.json        copy of a version-N file taken before migrating it
 *   trailhound.<timestamp>.v<N>.daily.json  rolling daily copy (the last few are kept)
 * Nothing here ever deletes a store file: a file being replaced by a restore is kept as
 * `<file>.damaged-<timestamp>` (or `.replaced-<timestamp>` when it was healthy).
 */
import { mkdir, readFile, readdir, rename, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { baselineCount } from "./baselines.js";
import { decodeStore } from "./codec.js";
import { acquireLock, fsyncDir, isTempFileOf, readWithIdentity, writeFileDurable } from "./durable-file.js";
import { StoreError, isStoreError } from "./errors.js";
import { STORE_SCHEMA_VERSION, type StoreData } from "./types.js";

export const STORE_FILE = "trailhound.json";
export const BACKUP_DIR = "backups";
/** Backups kept per kind. */
export const KEEP_BACKUPS = { migration: 5, daily: 7 } as const;

export type BackupKind = "migration" | "daily";

export interface BackupInfo {
  name: string;
  path: string;
  kind: BackupKind;
  /** Schema version of the copied file. */
  version: number;
  createdAt: string;
  bytes: number;
}

export function storeFile(dir: string): string {
  return path.join(dir, STORE_FILE);
}

export function backupDir(dir: string): string {
  return path.join(dir, BACKUP_DIR);
}

/** `2024-06-01T12:00:00.000Z` -> `2024-06-01T12-00-00-000Z` (sortable, valid in file names everywhere). */
export function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[:.]/g, "-");
}

function stampToIso(stamp: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})-(\d{3})Z$/.exec(stamp);
  return m ? `${m[1]}T${m[2]}:${m[3]}:${m[4]}.${m[5]}Z` : stamp;
}

const BACKUP_NAME = /^trailhound\.(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)\.v(\d+)(\.daily)?\.json$/;

export function backupName(ms: number, version: number, kind: BackupKind): string {
  return `trailhound.${fileStamp(ms)}.v${version}${kind === "daily" ? ".daily" : ""}.json`;
}

/** Remove the rotated audit files (`audit-YYYY-MM-DD.jsonl`) of days before `cutoffMs`; returns their names. */
export async function pruneAuditFiles(dir: string, cutoffMs: number): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = /^audit-(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(name);
    // The whole day is older than the cut-off.
    if (!m || Date.parse(`${m[1]}T00:00:00Z`) + 86_400_000 > cutoffMs) continue;
    await unlink(path.join(dir, name));
    removed.push(name);
  }
  return removed;
}

/** Backups of the store in `dir`, newest first. */
export async function listBackups(dir: string): Promise<BackupInfo[]> {
  const bdir = backupDir(dir);
  let names: string[];
  try {
    names = await readdir(bdir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new StoreError("unreadable", `Cannot list backups in ${bdir}: ${(e as Error).message}`, { cause: e });
  }
  const out: BackupInfo[] = [];
  for (const name of names) {
    const m = BACKUP_NAME.exec(name);
    if (!m) continue;
    const p = path.join(bdir, name);
    const st = await stat(p).catch(() => undefined);
    if (!st?.isFile()) continue;
    out.push({ name, path: p, kind: m[3] ? "daily" : "migration", version: Number(m[2]), createdAt: stampToIso(m[1]!), bytes: st.size });
  }
  return out.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.name < b.name ? 1 : -1));
}

/** Write a backup durably, then drop the oldest of its kind beyond `keep`. */
export async function writeBackup(dir: string, bytes: Uint8Array, version: number, kind: BackupKind, nowMs: number, keep: number = KEEP_BACKUPS[kind]): Promise<BackupInfo> {
  const bdir = backupDir(dir);
  if ((await mkdir(bdir, { recursive: true })) !== undefined) await fsyncDir(dir);
  const name = backupName(nowMs, version, kind);
  const p = path.join(bdir, name);
  await writeFileDurable(p, bytes);
  const all = (await listBackups(dir)).filter((b) => b.kind === kind);
  for (const old of all.slice(Math.max(keep, 1))) {
    if (old.name !== name) await unlink(old.path).catch(() => undefined);
  }
  // Temporary files of backups cut short by a crash.
  for (const n of await readdir(bdir).catch(() => [] as string[])) {
    if (n.startsWith(".trailhound.") && n.endsWith(".tmp") && !n.includes(`.${process.pid}.`)) await unlink(path.join(bdir, n)).catch(() => undefined);
  }
  return { name, path: p, kind, version, createdAt: new Date(nowMs).toISOString(), bytes: bytes.length };
}

export interface StoreCounts {
  baselines: number;
  findings: number;
  findingsByStatus: Record<string, number>;
  suppressions: number;
  activeSuppressions: number;
  audit: number;
  cursors: number;
  scans: number;
  digests: number;
  pendingDigests: number;
}

export function countsOf(data: StoreData, nowMs: number): StoreCounts {
  const byStatus: Record<string, number> = { open: 0, acknowledged: 0, suppressed: 0, resolved: 0 };
  for (const id in data.findings) {
    const s = data.findings[id]!.status;
    byStatus[s] = (byStatus[s] ?? 0) + 1;
  }
  return {
    baselines: baselineCount(data.baselines),
    findings: Object.keys(data.findings).length,
    findingsByStatus: byStatus,
    suppressions: data.suppressions.length,
    activeSuppressions: data.suppressions.filter((s) => !s.removed && Date.parse(s.until) > nowMs).length,
    audit: data.audit.length,
    cursors: Object.keys(data.cursors).length,
    scans: data.scans.length,
    digests: data.digests.length,
    pendingDigests: data.digests.filter((d) => d.state !== "sent").length,
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export interface StoreCheck {
  /** The store can be opened (possibly after an automatic migration). */
  ok: boolean;
  dir: string;
  file: string;
  exists: boolean;
  bytes?: number;
  schemaVersion?: number;
  counts?: StoreCounts;
  /** What is wrong (empty when ok). */
  problems: string[];
  /** Things worth knowing that are not problems. */
  notes: string[];
  backups: BackupInfo[];
  /** Ready-to-print report. */
  lines: string[];
}

/** `trailhound store check --store DIR`: never writes anything. */
export async function checkStore(dir: string, nowMs: number = Date.now()): Promise<StoreCheck> {
  const file = storeFile(dir);
  const problems: string[] = [];
  const notes: string[] = [];
  let backups: BackupInfo[] = [];
  try {
    backups = await listBackups(dir);
  } catch (e) {
    problems.push((e as Error).message);
  }
  const res: StoreCheck = { ok: false, dir, file, exists: false, problems, notes, backups, lines: [] };
  let got: Awaited<ReturnType<typeof readWithIdentity>> | undefined; // undefined: unreadable
  try {
    got = await readWithIdentity(file);
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (got === null) {
    notes.push("There is no store file yet: trailhound creates one on first use.");
    res.ok = problems.length === 0;
  } else if (got) {
    res.exists = true;
    res.bytes = got.bytes.length;
    try {
      // A store is opened trusting baselines that match their digest (codec.ts); the check decodes
      // and validates every one of them all the same, and says whether the digest matched.
      const dec = decodeStore(got.bytes, file);
      if (dec.baselinesChecked === "digest") decodeStore(got.bytes, file, undefined, { full: true });
      else if (dec.baselinesChecked === "full" && dec.from === STORE_SCHEMA_VERSION) {
        notes.push(
          "The baselines carry no digest that matches them (written by an older trailhound, or changed outside trailhound); each reads back, " +
            "so the store opens, checking every baseline on each open until the next save writes their digest.",
        );
      }
      res.schemaVersion = dec.from;
      res.counts = countsOf(dec.data, nowMs);
      if (dec.from < STORE_SCHEMA_VERSION) {
        notes.push(`Schema version ${dec.from} will be migrated to ${STORE_SCHEMA_VERSION} when trailhound next opens it (a backup is kept first).`);
      }
      res.ok = problems.length === 0;
    } catch (e) {
      problems.push(isStoreError(e) ? e.message : `Unexpected error reading the store: ${(e as Error).message}`);
    }
  }
  try {
    for (const name of await readdir(dir)) {
      if (isTempFileOf(file, name)) notes.push(`Leftover temporary file ${name} (from a write that was cut short; ignored and removed on next open).`);
      else if (name.startsWith(`${STORE_FILE}.damaged-`) || name.startsWith(`${STORE_FILE}.replaced-`)) notes.push(`Kept aside by an earlier restore: ${name}`);
      else if (name === `${STORE_FILE}.lock`) {
        const holder = await readFile(path.join(dir, name), "utf8").catch(() => "");
        notes.push(`Write lock present (${holder || "empty"}): a trailhound is saving right now, or one died while saving (then the next writer takes the lock over).`);
      }
    }
  } catch {
    // The directory itself is missing or unreadable: already reported through the file read.
  }

  const L = res.lines;
  L.push(`store: ${file}`);
  if (res.exists) L.push(`size: ${formatBytes(res.bytes ?? 0)} (${res.bytes} bytes)`);
  if (res.schemaVersion !== undefined) L.push(`schema version: ${res.schemaVersion} (this build: ${STORE_SCHEMA_VERSION})`);
  if (res.counts) {
    const c = res.counts;
    const st = Object.entries(c.findingsByStatus)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ");
    L.push(`baselines: ${c.baselines} identities`);
    L.push(`findings: ${c.findings} (${st})`);
    L.push(`suppressions: ${c.suppressions} (${c.activeSuppressions} active)`);
    L.push(`audit entries: ${c.audit}; cursors: ${c.cursors}; scans: ${c.scans}; digests: ${c.digests} (${c.pendingDigests} not sent)`);
  }
  L.push(
    backups.length === 0 ? `backups: none in ${backupDir(dir)}` : `backups: ${backups.length} in ${backupDir(dir)}, newest ${backups[0]!.name} (${formatBytes(backups[0]!.bytes)})`,
  );
  for (const n of notes) L.push(`note: ${n}`);
  for (const p of problems) L.push(`PROBLEM: ${p}`);
  if (!res.ok) {
    L.push(
      backups.length > 0
        ? `To recover: \`trailhound store restore --store ${dir}\` restores the newest backup that reads back cleanly (or name one: ${backups
            .slice(0, 3)
            .map((b) => b.name)
            .join(", ")}). The current file is moved aside, not deleted.`
        : `No backup to restore. The file was left untouched; repair it by hand, or move it aside to start an empty store.`,
    );
  } else {
    L.push("status: OK");
  }
  return res;
}

export interface RestoreResult {
  restored: BackupInfo;
  /** Where the previous store file was moved (absent when there was none). */
  movedAside?: string;
  /** Newer backups that were skipped because they do not read back cleanly. */
  skipped: Array<{ name: string; problem: string }>;
  lines: string[];
}

/**
 * `trailhound store restore --store DIR [BACKUP]`: replace the store file with a backup (the
 * named one, else the newest that reads back cleanly). The current file, if any, is kept as
 * `<file>.damaged-<ts>` (or `.replaced-<ts>` when it was healthy): copied there, then replaced
 * atomically, so there is no instant without a store file. Nothing is deleted. Run it
 * while trailhound is stopped: a running process would refuse to write over the restored file.
 */
export async function restoreBackup(dir: string, name?: string, nowMs: number = Date.now()): Promise<RestoreResult> {
  const file = storeFile(dir);
  const all = await listBackups(dir);
  if (all.length === 0) {
    throw new StoreError("no-backup", `There are no backups in ${backupDir(dir)}; nothing to restore. The store file was left untouched.`);
  }
  let candidates = all;
  if (name !== undefined) {
    const base = path.basename(name);
    const found = all.find((b) => b.name === base);
    if (!found) {
      throw new StoreError("not-found", `No backup named ${base} in ${backupDir(dir)}. Available: ${all.map((b) => b.name).join(", ")}`);
    }
    candidates = [found];
  }
  const skipped: RestoreResult["skipped"] = [];
  let chosen: { info: BackupInfo; bytes: Buffer } | undefined;
  for (const b of candidates) {
    try {
      const got = await readWithIdentity(b.path);
      if (!got) throw new StoreError("not-found", `${b.path} disappeared`);
      decodeStore(got.bytes, b.path);
      chosen = { info: b, bytes: got.bytes };
      break;
    } catch (e) {
      if (name !== undefined) throw e;
      skipped.push({ name: b.name, problem: (e as Error).message });
    }
  }
  if (!chosen) {
    throw new StoreError("no-backup", `None of the ${all.length} backups in ${backupDir(dir)} reads back cleanly: ${skipped.map((s) => `${s.name}: ${s.problem}`).join(" | ")}`);
  }

  // Under the writers' lock: a running trailhound either saved before (its save is what is kept
  // aside) or notices the replaced file and saves on top of the restored one.
  const release = await acquireLock(`${file}.lock`);
  try {
    return await replaceWith(dir, file, chosen, skipped, nowMs);
  } finally {
    await release();
  }
}

async function replaceWith(dir: string, file: string, chosen: { info: BackupInfo; bytes: Buffer }, skipped: RestoreResult["skipped"], nowMs: number): Promise<RestoreResult> {
  let movedAside: string | undefined;
  const current = await readWithIdentity(file).catch(() => undefined);
  if (current !== null) {
    let healthy = false;
    if (current) {
      try {
        decodeStore(current.bytes, file);
        healthy = true;
      } catch {
        healthy = false;
      }
    }
    movedAside = `${file}.${healthy ? "replaced" : "damaged"}-${fileStamp(nowMs)}`;
    if (current) {
      // Copy aside, then replace atomically: there is no instant without a store file.
      await writeFileDurable(movedAside, current.bytes);
    } else {
      // Unreadable: it cannot be copied, but it can be renamed.
      await rename(file, movedAside);
      await fsyncDir(dir);
    }
  }
  await writeFileDurable(file, chosen.bytes);
  const lines = [
    ...skipped.map((s) => `skipped ${s.name}: ${s.problem}`),
    `restored ${chosen.info.name} (schema v${chosen.info.version}, taken ${chosen.info.createdAt}, ${formatBytes(chosen.info.bytes)}) to ${file}`,
  ];
  if (movedAside) lines.push(`the previous store file was kept as ${movedAside}`);
  return { restored: chosen.info, ...(movedAside ? { movedAside } : {}), skipped, lines };
}
