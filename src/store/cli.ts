/**
 * `trailhound store check|restore --store DIR`: print what checkStore / listBackups /
 * restoreBackup say, and return the exit code (0 ok, 1 a problem).
 */
import { isStoreError } from "./errors.js";
import { checkStore, formatBytes, listBackups, restoreBackup } from "./maintenance.js";
import { PRUNE_DEFAULTS, TrailStore } from "./store.js";

type Out = (line: string) => void;
const stdout: Out = (l) => process.stdout.write(`${l}\n`);
const stderr: Out = (l) => process.stderr.write(`${l}\n`);

export async function storeCheckCommand(dir: string, out: Out = stdout): Promise<number> {
  const res = await checkStore(dir);
  for (const l of res.lines) out(l);
  return res.ok ? 0 : 1;
}

/**
 * Without a backup name: list the backups and say how to restore one. With a name (or `latest`
 * for the newest one that reads back cleanly): restore it, keeping the current file aside.
 */
export async function storeRestoreCommand(dir: string, backup?: string, out: Out = stdout, err: Out = stderr): Promise<number> {
  try {
    if (backup === undefined) {
      const list = await listBackups(dir);
      if (list.length === 0) {
        out(`No backups in ${dir}/backups.`);
        return 1;
      }
      out(`Backups of ${dir}/trailhound.json, newest first:`);
      for (const b of list) out(`  ${b.name}  (${b.kind}, schema v${b.version}, ${formatBytes(b.bytes)}, taken ${b.createdAt})`);
      out(`Restore one with \`trailhound store restore --store ${dir} <name>\` (or \`latest\`), while trailhound is stopped.`);
      return 0;
    }
    const res = await restoreBackup(dir, backup === "latest" ? undefined : backup);
    for (const l of res.lines) out(l);
    return 0;
  } catch (e) {
    if (isStoreError(e)) {
      err(`trailhound: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

/** `trailhound store prune`: TrailStore.prune with the given limits (defaults PRUNE_DEFAULTS), then what it dropped. */
export async function storePruneCommand(dir: string, o: { days?: number; findingsDays?: number; auditDays?: number; now?: number }, out: Out = stdout): Promise<number> {
  const days = o.days ?? PRUNE_DEFAULTS.olderThanDays;
  const findingsDays = o.findingsDays ?? Math.max(PRUNE_DEFAULTS.findingsDays, days);
  const auditDays = o.auditDays ?? PRUNE_DEFAULTS.auditDays;
  const store = await TrailStore.open(dir);
  try {
    const before = store.stats().bytes;
    const r = await store.prune({ olderThanDays: days, findingsDays, auditDays, by: "cli" }, o.now ?? Date.now());
    out(
      `Pruned ${dir}: ${r.baselines} baseline(s) not seen in ${days} days, ${r.findings} finding(s) (resolved and not seen in ${days} days, ` +
        `or not seen at all in ${findingsDays}), ${r.suppressions} suppression(s) ended over ${days} days ago, ${r.scans} scan record(s) ` +
        `older than ${days} days, ${r.auditFiles} audit file(s) older than ${auditDays} days.`,
    );
    out(`Store file: ${formatBytes(before)} -> ${formatBytes(store.stats().bytes)}.`);
    return 0;
  } finally {
    await store.close();
  }
}
