import type { Dim } from "../baseline/profile.js";
import type { Severity, TrailEvent } from "../events/types.js";
import { ssmTargets } from "./lib/compute.js";
import { secretName, targetsOf } from "../events/targets.js";
import { DAY } from "../baseline/profile.js";
import { RANSOM_NOTE, usesSseC } from "./s3-ransomware.js";
import { arnName, bool, isIaC, lower, multiDraft, q, rp, str, strings, who, params } from "./lib/util.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector, WinStat } from "./types.js";
import type { BaselineView } from "../baseline/view.js";

/**
 * Volume across one identity's window that no single event shows: many distinct secrets read,
 * many instances' passwords or user data fetched, many objects deleted or re-encrypted with
 * customer keys, many AMIs or snapshots destroyed, commands or SSH keys pushed to many
 * instances, many Bedrock models invoked.
 *
 * Distinct targets come from the window candidates, which the event detectors select
 * (`secrets-access`, `discovery-user-data`, `s3-ransomware`, `execution-and-lateral-movement`,
 * `bedrock-abuse`); plain counts come from the window's API statistics. An identity whose
 * history shows the same API at a comparable daily volume is not reported.
 */

export const THRESHOLDS = {
  secrets: 10,
  parameters: 20,
  passwordData: 5,
  userData: 5,
  deleteObject: 50,
  /** Without history, object deletion needs more volume: cleanup jobs delete objects all day. */
  deleteObjectColdStart: 100,
  deleteObjects: 5,
  sseC: 10,
  deregisterImage: 5,
  deleteSnapshot: 20,
  deleteDbSnapshot: 5,
  commandInstances: 10,
  sessions: 3,
  sshKeys: 3,
  models: 3,
  launchRegions: 3,
  /** Distinct KMS keys new to the identity (byKeys). */
  keys: 10,
} as const;

interface Category {
  key: string;
  title: string;
  api: string;
  attack: string[];
  /** Distinct targets of candidate events, or undefined to use the API count. */
  targets?: (ev: TrailEvent) => string[];
  min: number;
  /** Threshold while the identity has no usable history (defaults to `min`). */
  coldMin?: number;
  severity: Severity;
  /** What the identity did, with `{n}` for the count. */
  noun: string;
  /** Reading categories: infrastructure as code refreshing state reads every secret; not counted. */
  skipIaC?: boolean;
  /** Count only targets the identity's history does not know in this dimension (instead of a volume check). */
  knownDim?: Dim;
  /**
   * The targets as values of the baseline's `target` dimension (src/events/targets.ts): judged by
   * distinct targets new to the identity against its own history of targets, not by call volume.
   */
  targetValues?: (e: TrailEvent) => string[];
}

const CATEGORIES: Category[] = [
  {
    key: "secrets",
    skipIaC: true,
    title: "Many secrets read",
    api: "secretsmanager:GetSecretValue",
    attack: ["T1555.006"],
    targets: (e) => strings(rp(e, "secretId")).map(secretName),
    targetValues: (e) => targetsOf(e.eventName, e.requestParameters),
    min: THRESHOLDS.secrets,
    severity: "medium",
    noun: "read {n} distinct secrets",
  },
  {
    key: "parameters",
    skipIaC: true,
    title: "Many SecureString parameters decrypted",
    api: "ssm:GetParameters",
    attack: ["T1552"],
    targets: (e) => (bool(rp(e, "withDecryption")) === true ? [...strings(rp(e, "names")), ...strings(rp(e, "name"))] : []),
    targetValues: (e) => (bool(rp(e, "withDecryption")) === true ? targetsOf(e.eventName, e.requestParameters) : []),
    min: THRESHOLDS.parameters,
    severity: "medium",
    noun: "decrypted {n} distinct SecureString parameters",
  },
  {
    key: "password-data",
    skipIaC: true,
    title: "Windows passwords of many instances requested",
    api: "ec2:GetPasswordData",
    attack: ["T1552"],
    targets: (e) => strings(rp(e, "instanceId")),
    min: THRESHOLDS.passwordData,
    severity: "high",
    noun: "requested the Windows password data of {n} instances",
  },
  {
    key: "user-data",
    skipIaC: true,
    title: "User data of many instances read",
    api: "ec2:DescribeInstanceAttribute",
    attack: ["T1552.005"],
    targets: (e) => (str(rp(e, "attribute")) === "userData" ? strings(rp(e, "instanceId")) : []),
    min: THRESHOLDS.userData,
    severity: "high",
    noun: "read the user data of {n} instances",
  },
  {
    key: "s3-delete",
    title: "Mass S3 object deletion",
    api: "s3:DeleteObject",
    attack: ["T1485"],
    min: THRESHOLDS.deleteObject,
    coldMin: THRESHOLDS.deleteObjectColdStart,
    severity: "medium",
    noun: "deleted objects {n} times (DeleteObject)",
  },
  {
    key: "s3-batch-delete",
    title: "Mass S3 batch deletion",
    api: "s3:DeleteObjects",
    attack: ["T1485"],
    min: THRESHOLDS.deleteObjects,
    severity: "medium",
    noun: "sent {n} DeleteObjects batches (up to 1,000 objects each)",
  },
  {
    key: "s3-sse-c",
    title: "Objects rewritten with customer-provided keys",
    api: "s3:*",
    attack: ["T1486"],
    targets: (e) => (usesSseC(e) ? [`${str(rp(e, "bucketName")) ?? "?"}/${str(rp(e, "key")) ?? "?"}`] : []),
    min: THRESHOLDS.sseC,
    severity: "high",
    noun: "wrote {n} objects with customer-provided keys (SSE-C)",
  },
  {
    key: "ami-deregister",
    title: "Many AMIs deregistered",
    api: "ec2:DeregisterImage",
    attack: ["T1485"],
    min: THRESHOLDS.deregisterImage,
    severity: "medium",
    noun: "deregistered {n} AMIs",
  },
  {
    key: "snapshot-delete",
    title: "Many EBS snapshots deleted",
    api: "ec2:DeleteSnapshot",
    attack: ["T1490"],
    min: THRESHOLDS.deleteSnapshot,
    severity: "medium",
    noun: "deleted {n} EBS snapshots",
  },
  {
    key: "db-snapshot-delete",
    title: "Many database snapshots deleted",
    api: "rds:DeleteDBSnapshot",
    attack: ["T1490"],
    min: THRESHOLDS.deleteDbSnapshot,
    severity: "medium",
    noun: "deleted {n} database snapshots",
  },
  {
    key: "ssm-fan-out",
    title: "Commands sent to many instances",
    api: "ssm:SendCommand",
    attack: ["T1651"],
    targets: (e) => ssmTargets(params(e)).instances,
    min: THRESHOLDS.commandInstances,
    severity: "high",
    noun: "sent commands to {n} instances",
  },
  {
    key: "ssm-sessions",
    title: "Interactive sessions on many instances",
    api: "ssm:StartSession",
    attack: ["T1651", "T1021"],
    targets: (e) => strings(rp(e, "target")),
    min: THRESHOLDS.sessions,
    severity: "medium",
    noun: "opened interactive sessions on {n} instances",
  },
  {
    key: "instance-connect",
    title: "SSH keys pushed to many instances",
    api: "ec2-instance-connect:SendSSHPublicKey",
    attack: ["T1021.004"],
    targets: (e) => strings(rp(e, "instanceId")),
    min: THRESHOLDS.sshKeys,
    severity: "high",
    noun: "pushed SSH keys to {n} instances",
  },
  {
    key: "multi-region-launch",
    title: "Instances launched in many regions",
    api: "ec2:RunInstances",
    attack: ["T1496", "T1535"],
    targets: (e) => [e.region],
    knownDim: "region",
    min: THRESHOLDS.launchRegions,
    severity: "high",
    noun: "launched instances in {n} regions",
  },
  {
    key: "bedrock-models",
    title: "Many Bedrock models invoked",
    api: "bedrock:InvokeModel",
    attack: ["T1496"],
    targets: (e) =>
      e.service === "bedrock" && /^(InvokeModel|InvokeModelWithResponseStream|Converse|ConverseStream)$/.test(e.eventName) ? [arnName(str(rp(e, "modelId")) ?? "?")] : [],
    min: THRESHOLDS.models,
    severity: "medium",
    noun: "invoked {n} distinct Bedrock models",
  },
];

/** `ssm:GetParameters` also covers GetParameter / GetParametersByPath; `bedrock:InvokeModel` covers Converse*. `k`: the event's "service:eventName". */
function apiMatches(api: string, k: string, e: TrailEvent): boolean {
  if (k === api) return true;
  if (api === "ssm:GetParameters") return k === "ssm:GetParameter" || k === "ssm:GetParametersByPath";
  if (api === "bedrock:InvokeModel") return e.service === "bedrock" && /^(InvokeModelWithResponseStream|Converse|ConverseStream)$/.test(e.eventName);
  return false;
}

/** The identity does this every day at a comparable volume: not a burst. */
function routine(ctx: DetectorContext, api: string, n: number): boolean {
  if (ctx.learning || api.endsWith(":*")) return false;
  const st = ctx.baseline.stat("api", api);
  if (!st) return false;
  const perDay = st[0] / Math.max(1, ctx.baseline.activeDays);
  return n <= 3 * perDay + 5;
}

/**
 * A bulk read judged by distinct targets: the window's targets the identity never read before,
 * against how many new targets it meets per day in its history (BaselineView.noveltyRate over
 * the `target` dimension). A busy function that reads the same secret all day has one known
 * target, so thirty new ones in a minute stand out whatever its call volume; a synchronisation
 * job that meets new secrets daily does not. Cites the calls on the new targets only.
 */
function byTargets(c: Category, events: TrailEvent[], win: IdentityWindow, ctx: DetectorContext): FindingDraft | undefined {
  const b = ctx.baseline;
  const hist = targetHistory(b, SECRET_KINDS);
  const fresh = new Map<string, TrailEvent[]>();
  for (const e of events) {
    for (const v of c.targetValues!(e)) {
      if (b.known("target", v)) continue;
      let list = fresh.get(v);
      if (!list) fresh.set(v, (list = []));
      list.push(e);
    }
  }
  const n = fresh.size;
  const rate = hist.rate;
  const days = Math.max(1, (ctx.window.end - ctx.window.start) / DAY);
  const expected = rate * days;
  // Poisson-ish: well above what its history makes routine, and at least the category's threshold.
  const bar = Math.max(c.min, Math.ceil(3 * expected + 3));
  if (n < bar) return undefined;
  const cited = [...new Set([...fresh.values()].flat())].sort((x, y) => x.time - y.time);
  const names = [...fresh.keys()].map((v) => v.slice(v.indexOf(":") + 1));
  const known = hist.known;
  const why =
    `${who(win.principal)} ${c.noun.replace("{n}", String(n))} it never read before in this window (threshold ${bar}): ` +
    `${names
      .slice(0, 6)
      .map((t) => q(t, 60))
      .join(", ")}${names.length > 6 ? ", …" : ""}. ` +
    `Judged by distinct targets, not call volume: its history knows ${known} secret or parameter target${known === 1 ? "" : "s"} ` +
    `and meets about ${Math.round(rate * 10) / 10} new one${rate === 1 ? "" : "s"} per active day (${b.activeDays} active days).`;
  const d = multiDraft(cited, c.severity, why, [c.key], {
    title: c.title,
    attack: c.attack,
    count: cited.length,
    evidence: { category: c.key, count: n, threshold: bar, targets: names.slice(0, 20), knownTargets: known, newTargetsPerDay: Number(rate.toFixed(3)) },
  });
  return d;
}

/** How many distinct target values `events` have (byTargets' new targets are some of them). */
function distinctValues(targetValues: (e: TrailEvent) => string[], events: readonly TrailEvent[]): number {
  const set = new Set<string>();
  for (const e of events) for (const v of targetValues(e)) set.add(v);
  return set.size;
}

/** Target kinds (prefixes of the `target` dimension) judged together. */
const SECRET_KINDS = ["secret:", "parameter:", "parameter-path:"];
const KEY_KINDS = ["key:"];

/**
 * An identity's history of targets of some kinds: how many it knows before the window, and how
 * many new ones it meets per active day after its first (BaselineView.noveltyRate, per kind: keys
 * do not make secrets routine, nor the reverse).
 */
function targetHistory(b: BaselineView, kinds: readonly string[]): { known: number; rate: number } {
  let byKinds = histories.get(b);
  if (!byKinds) histories.set(b, (byKinds = new Map()));
  let h = byKinds.get(kinds);
  if (!h) byKinds.set(kinds, (h = countTargets(b, kinds)));
  return h;
}

/** Each baseline's target history per list of kinds (several categories ask for the same one). */
const histories = new WeakMap<BaselineView, Map<readonly string[], { known: number; rate: number }>>();

function countTargets(b: BaselineView, kinds: readonly string[]): { known: number; rate: number } {
  const p = b.profile;
  if (!p || !Number.isFinite(p.first)) return { known: 0, rate: 0 };
  // The dimension is full: it keeps its most used targets only, so how many new ones the identity
  // meets cannot be told (a rate from what is kept would be too low). Not judged by targets.
  if (targetsFull(b)) return { known: 0, rate: Infinity };
  const firstDayEnd = (Math.floor(p.first / DAY) + 1) * DAY;
  let known = 0;
  let fresh = 0;
  b.eachFirstSeen("target", (v, first) => {
    if (first >= b.windowStart || !kinds.some((k) => v.startsWith(k))) return;
    known++;
    if (first >= firstDayEnd) fresh++;
  });
  return { known, rate: b.activeDays < 2 ? 0 : fresh / Math.max(1, b.activeDays - 1) };
}

/** The identity's `target` dimension holds as many values as the baseline keeps (caps.target). */
function targetsFull(b: BaselineView): boolean {
  let full = fullTargets.get(b);
  if (full === undefined) fullTargets.set(b, (full = b.size("target") >= b.cfg.caps.target));
  return full;
}
const fullTargets = new WeakMap<BaselineView, boolean>();

/**
 * Bulk key reads: plaintext obtained under many KMS keys (Decrypt, GenerateDataKey*, ReEncrypt;
 * calls an AWS service makes for the caller excluded), judged like secrets: distinct keys new to the
 * identity in the window against how many new keys it meets per active day, at least
 * THRESHOLDS.keys. Applications use one or a few keys all day, whatever their call volume; an
 * intruder decrypting whatever they can reach meets many. Cites the calls on the new keys (up to
 * five each, earliest first). Not judged while the identity is learning, nor when its history of
 * targets is full (caps.target values kept: an identity that meets more targets than the baseline
 * keeps, whose rate of new ones cannot be told).
 */
function byKeys(win: IdentityWindow, ctx: DetectorContext): FindingDraft | undefined {
  if (ctx.learning || !win.targets) return undefined;
  const b = ctx.baseline;
  // The new keys are some of the window's keys: fewer keys than the least threshold (`bar` is at
  // least THRESHOLDS.keys) is no finding whatever the history, and a full history of targets is
  // none either (most identities stop here): neither needs the keys looked up. A full dimension
  // would be built whole to look one up (its cap decides which values it keeps).
  let keys = 0;
  for (const v of win.targets.keys()) if (v.startsWith("key:")) keys++;
  if (keys < THRESHOLDS.keys || targetsFull(b)) return undefined;
  const fresh: Array<[string, WinStat]> = [];
  for (const [v, st] of win.targets) if (v.startsWith("key:") && !b.known("target", v)) fresh.push([v, st]);
  if (fresh.length < THRESHOLDS.keys) return undefined;
  const hist = targetHistory(b, KEY_KINDS);
  const days = Math.max(1, (ctx.window.end - ctx.window.start) / DAY);
  const bar = Math.max(THRESHOLDS.keys, Math.ceil(3 * hist.rate * days + 3));
  if (fresh.length < bar) return undefined;
  const ids: string[] = [];
  let first = Infinity;
  let last = -Infinity;
  let count = 0;
  for (const [, st] of fresh) {
    for (const id of st.ids) if (ids.length < 40 && !ids.includes(id)) ids.push(id);
    first = Math.min(first, st.first);
    last = Math.max(last, st.last);
    count += st.n;
  }
  const names = fresh.map(([v]) => v.slice(4));
  const failed = fresh.every(([, st]) => st.err >= st.n);
  const why =
    `${who(win.principal)} obtained plaintext under ${fresh.length} KMS keys it never used before in this window (threshold ${bar}): ` +
    `${names
      .slice(0, 6)
      .map((t) => q(t, 80))
      .join(", ")}${names.length > 6 ? ", …" : ""}. ` +
    `Judged by distinct keys, not call volume: its history knows ${hist.known} key${hist.known === 1 ? "" : "s"} ` +
    `and meets about ${Math.round(hist.rate * 10) / 10} new one${hist.rate === 1 ? "" : "s"} per active day (${b.activeDays} active days).`;
  const d: FindingDraft = {
    severity: failed ? "low" : "medium",
    title: "Many KMS keys used to decrypt",
    why,
    fingerprint: ["kms-keys"],
    eventIds: ids,
    firstSeen: first,
    lastSeen: last,
    count,
    attack: ["T1552", "T1005"],
    evidence: { category: "kms-keys", count: fresh.length, threshold: bar, targets: names.slice(0, 20), knownTargets: hist.known, newTargetsPerDay: Number(hist.rate.toFixed(3)) },
  };
  if (failed) d.failed = true;
  return d;
}

export const bulkSensitiveActions: WindowDetector = {
  kind: "window",
  id: "bulk-sensitive-actions",
  title: "Sensitive actions in bulk",
  description:
    "One identity reading many secrets, passwords or user-data scripts, decrypting under many KMS keys, deleting or re-encrypting many objects, destroying many images or snapshots, or reaching many instances with commands, sessions or SSH keys in one window, beyond its usual daily volume.",
  severity: "medium",
  cites:
    "The events of the category over its threshold: the calls on the distinct targets counted (secrets, parameters, KMS keys, instances, models, regions new to the identity), or that API's calls in the window for volume categories.",
  attack: ["T1555.006", "T1485", "T1651"],
  investigate: [
    "List the targets (secrets, objects, instances) from the event ids and judge what was exposed or lost.",
    "Compare with the identity's normal volume and with change windows or migrations.",
    "If unexplained: contain the identity, rotate the secrets read, restore deleted data from versions or backups.",
  ],
  falsePositives: ["Migrations, secret synchronisation and backup jobs.", "Cleanup jobs deleting old objects, images or snapshots.", "Fleet-wide maintenance through SSM."],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    const out: FindingDraft[] = [];
    const keys = byKeys(win, ctx);
    if (keys) out.push(keys);
    // Each candidate's "service:eventName", made once for all the categories.
    let apiKeys: string[] | undefined;
    const cands = win.candidates;
    for (const c of CATEGORIES) {
      let events: TrailEvent[] = [];
      let count = 0;
      let distinct: string[] = [];
      if (c.targets) {
        const set = new Set<string>();
        apiKeys ??= cands.map((e) => e.service + ":" + e.eventName);
        for (let i = 0; i < cands.length; i++) {
          const e = cands[i]!;
          if (!c.api.endsWith(":*") && !apiMatches(c.api, apiKeys[i]!, e)) continue;
          if (c.skipIaC && isIaC(e)) continue;
          if (c.api.endsWith(":*") && e.service !== c.api.slice(0, -2)) continue;
          const ts = c.targets(e);
          if (ts.length === 0) continue;
          events.push(e);
          for (const t of ts) set.add(t);
        }
        // No event of the category: no target counted, below any threshold.
        if (events.length === 0 && Math.min(c.min, c.coldMin ?? c.min) > 0) continue;
        distinct = [...set];
        if (c.knownDim && !ctx.learning) distinct = distinct.filter((t) => !ctx.baseline.known(c.knownDim!, t));
        count = distinct.length;
        // Judged by distinct targets against the identity's own history of targets, when it has one.
        if (c.targetValues && !ctx.learning && targetsFull(ctx.baseline)) continue;
        // Below the category's threshold both ways (by distinct targets: the count; by targets new
        // to the identity: at most its distinct target values, and byTargets' bar is at least
        // c.min): no finding, and the history of targets (a pass over all of them) is not asked.
        if (c.targetValues && !ctx.learning && count < c.min && distinctValues(c.targetValues, events) < c.min) continue;
        if (c.targetValues && !ctx.learning && targetHistory(ctx.baseline, SECRET_KINDS).known > 0) {
          const judged = byTargets(c, events, win, ctx);
          if (judged) out.push(judged);
          continue;
        }
      } else {
        const st = win.apis.get(c.api);
        if (!st) continue;
        count = st.n;
        apiKeys ??= cands.map((e) => e.service + ":" + e.eventName);
        const ks = apiKeys;
        events = cands.filter((_, i) => ks[i] === c.api);
      }
      const min = ctx.learning ? (c.coldMin ?? c.min) : c.min;
      if (count < min) continue;
      const api = events[0] ? events[0].service + ":" + events[0].eventName : c.api;
      if (!c.knownDim && routine(ctx, api, count)) continue;
      let sev = c.severity;
      let extra = "";
      if (c.key.startsWith("s3-") && c.key !== "s3-sse-c") {
        const note = win.candidates.find((e) => e.service === "s3" && e.eventName === "PutObject" && RANSOM_NOTE.test(str(rp(e, "key")) ?? ""));
        if (note) {
          sev = "critical";
          extra = ` A file named like a ransom note was uploaded afterwards (${q(str(rp(note, "key")) ?? "?")}).`;
          events.push(note);
        }
      }
      const b = ctx.baseline;
      const hist = b.stat("api", api);
      const base =
        hist && b.activeDays > 0
          ? `Its history shows about ${Math.round(hist[0] / Math.max(1, b.activeDays))} such call(s) per active day over ${b.activeDays} active days.`
          : b.historyDays > 0
            ? `It never made this call before (${b.summary()}).`
            : "No history of this identity before this window (cold start).";
      if (hist && !ctx.learning) sev = lower(sev);
      const shown = distinct
        .slice(0, 6)
        .map((t) => q(t, 60))
        .join(", ");
      const why = `${who(win.principal)} ${c.noun.replace("{n}", String(count))} in this window (threshold ${min})${shown ? `: ${shown}${distinct.length > 6 ? ", …" : ""}` : ""}.${extra} ${base}`;
      const apiStat = win.apis.get(api);
      out.push(
        multiDraft(events.length > 0 ? events : [], sev, why, [c.key], {
          title: c.title,
          attack: c.attack,
          count: Math.max(events.length, apiStat?.n ?? 0),
          evidence: { category: c.key, count, threshold: min, targets: distinct.slice(0, 20) },
        }),
      );
      if (events.length === 0 && apiStat) {
        const d = out[out.length - 1]!;
        d.eventIds = apiStat.ids.slice(0, 20);
        d.firstSeen = apiStat.first;
        d.lastSeen = apiStat.last;
        if (apiStat.err === apiStat.n) {
          d.failed = true;
          d.severity = lower(d.severity);
        }
      }
    }
    return out;
  },
};

export default bulkSensitiveActions;
