import type { Dim } from "../baseline/profile.js";
import type { BaselineView } from "../baseline/view.js";
import type { GeoInfo, GeoResolver } from "../geo/types.js";
import type { Principal, Severity, TrailEvent } from "../events/types.js";

/** Metadata beside the logic of every detector (one file per detector, file name = id). */
export interface DetectorMeta {
  id: string;
  title: string;
  description: string;
  /** Default severity; a finding may raise or lower it with a reason. */
  severity: Severity;
  /**
   * Which events a finding cites (`eventIds`, first/last seen, Details) and why they are the
   * anomaly. Every cited event must be one the detector judged anomalous: the table tests
   * (test/detectors/tables) check it for every firing case.
   */
  cites: string;
  /** MITRE ATT&CK technique ids, e.g. `T1562.008`. */
  attack: string[];
  /** What to check next. */
  investigate: string[];
  /** Known benign causes. */
  falsePositives: string[];
}

/** What a detector returns; the scan turns drafts into findings (id, identity, score, metadata). */
export interface FindingDraft {
  severity: Severity;
  /** 0-100; defaults from severity. */
  score?: number;
  /** Overrides the detector title for this finding (keep it short). */
  title?: string;
  /** Why this is unusual, with the baseline numbers. */
  why: string;
  /**
   * What makes this the same finding tomorrow besides detector and identity: the API, the
   * country, the target user... Never times or counts.
   */
  fingerprint: string[];
  eventIds: string[];
  firstSeen: number;
  lastSeen: number;
  count: number;
  sourceIp?: string;
  region?: string;
  /** Small, structured evidence shown in details (attacker-controlled strings: escape when rendering). */
  evidence?: Record<string, unknown>;
  /** Extra ATT&CK ids beyond the detector's own. */
  attack?: string[];
  /** Every event behind this finding failed (an attempt, not an action). */
  failed?: boolean;
  /** Attribute to another identity than the one evaluated (global detectors). */
  principal?: Principal;
  /**
   * The baseline values this finding is about (its new API, network, country, region...): while
   * the finding is open at medium or higher they are held back from the identity's baseline, so
   * that an attacker flagged today is not normal tomorrow (see src/baseline/held.ts).
   */
  holds?: Array<[Dim, string]>;
  /**
   * Judged against a person's own baseline (a shared role's session that names a person): the
   * person, shown in the finding's identity, and the key of their baseline, which the `holds`
   * are held back from too.
   */
  person?: { name: string; key: string };
}

export interface DetectorConfig {
  /** Accounts considered ours (the organisation); sharing with others is "unknown account". */
  ownAccounts: ReadonlySet<string>;
  /** Impossible travel threshold, km/h. */
  maxSpeedKmh: number;
  /** Ignore hops shorter than this, km. */
  minTravelKm: number;
}

export interface DetectorContext {
  principal: Principal;
  baseline: BaselineView;
  /** The identity has too little history for "first seen" findings. */
  learning: boolean;
  window: { start: number; end: number };
  geo?: GeoResolver;
  config: DetectorConfig;
  /**
   * What the identity's account did before the window, across every identity of this scan (and
   * their stored baselines): regions used. Absent in contexts built without a scan.
   */
  /**
   * People on this (shared) role active in the window, each with a baseline of their own (see
   * lib/people.ts): novelty detectors judge a person's sessions against the person first.
   */
  people?: readonly PersonSlice[];
  account?: {
    knowsRegion(region: string): boolean;
    /** Some identity of the account has region history at all (else nothing can be called new). */
    hasHistory(): boolean;
  };
}

export interface RegionActivity {
  n: number;
  first: number;
  last: number;
  apis: string[];
  /** Up to 10 event ids, as they arrived, at most 3 per API. */
  ids: string[];
}

/** One person on a shared role: their events in the window and their own baseline. */
export interface PersonSlice {
  /** The person (Principal.person). */
  name: string;
  /** Their baseline's key (`person:<account>:<role>:<person>`). */
  key: string;
  window: IdentityWindow;
  baseline: BaselineView;
  learning: boolean;
}

/** Counts of one value (an API, an IP, ...) inside the detection window. */
export interface WinStat {
  n: number;
  err: number;
  denied: number;
  first: number;
  last: number;
  /** Up to 5 event ids, earliest first. */
  ids: string[];
}

/** One 10-minute bucket of an identity's activity inside the window. */
export interface Bucket {
  start: number;
  n: number;
  err: number;
  denied: number;
  /** Distinct read-only APIs (List/Describe/Get/...) called in the bucket, as `service:EventName`. */
  reads: string[];
  /** One event id per entry of `reads` (parallel): the evidence of that read in this bucket. */
  readIds: string[];
  /** Up to 40 event ids of the bucket (the first to arrive, at most 4 per API): the evidence of its volume. */
  ids: string[];
  /** The API (`service:EventName`) of each of `ids` (parallel). */
  idApis: string[];
  /** Up to 20 ids of its failed events (the first to arrive). */
  errIds: string[];
}

export interface GeoPoint {
  time: number;
  ip: string;
  /** Role session of the observation (hops between sessions are not one traveller). */
  session?: string;
  geo?: GeoInfo;
  eventId: string;
}

/** Everything an identity did inside the detection window, aggregated. */
export interface IdentityWindow {
  principal: Principal;
  /** Session names seen in the window. */
  sessions: string[];
  events: number;
  errors: number;
  denied: number;
  first: number;
  last: number;
  /** Keyed `service:EventName` (normalised name). */
  apis: Map<string, WinStat>;
  services: Map<string, WinStat>;
  regions: Map<string, WinStat>;
  /** All source addresses (public, private, service names). */
  ips: Map<string, WinStat>;
  networks: Map<string, WinStat>;
  countries: Map<string, WinStat>;
  uas: Map<string, WinStat>;
  errorCodes: Map<string, WinStat>;
  /** Targets read (secrets, parameters, KMS keys: the baseline's `target` dimension, src/events/targets.ts). */
  targets?: Map<string, WinStat>;
  buckets: Bucket[];
  /** Public-IP observations, time-sorted, de-duplicated per IP and minute. */
  geo: GeoPoint[];
  /** Events that event detectors selected, time-sorted. */
  candidates: TrailEvent[];
  /** Observations dropped by caps (reported, never silent). */
  dropped: { candidates: number; geo: number };
  /**
   * The role session of the events whose ids the window lists (WinStat ids, bucket ids), when it
   * differs from `principal.sessionName`: a finding shows the session that did the cited events.
   */
  idSessions?: ReadonlyMap<string, string>;
  /**
   * Activity per region in the window, regional services only (global services such as IAM record
   * in us-east-1 whatever the caller does): the APIs called there (up to 20) and the first event ids.
   */
  regionActivity?: ReadonlyMap<string, RegionActivity>;
  /** Window events whose session was MFA-authenticated (sessionContext.attributes.mfaAuthenticated). */
  mfaEvents?: number;
}

/** What a `select` detector may take: events of these names, or of principals of these types. */
export interface MayTake {
  eventNames?: readonly string[];
  principalTypes?: readonly string[];
}

export interface EventDetector extends DetectorMeta {
  kind: "event";
  /** Normalised event names this detector looks at. Omit to use `select`. */
  eventNames?: readonly string[];
  /** Cheap prefilter for detectors that are not keyed by event name. */
  select?: (ev: TrailEvent) => boolean;
  /**
   * With `select`: what it may take, declared as data (a necessary condition: `select(ev)` implies
   * that `ev.eventName` is in `eventNames` or `ev.principal.type` in `principalTypes`). The ingest
   * reads it to decide which records of the detection window it must parse; without it, every
   * record there is parsed.
   */
  mayTake?: MayTake;
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | FindingDraft[] | null;
}

export interface WindowDetector extends DetectorMeta {
  kind: "window";
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[];
}

export interface GlobalContext {
  window: { start: number; end: number };
  config: DetectorConfig;
  baselineOf(key: string): BaselineView;
}

/** Looks across identities (password spraying, one IP failing for many users). */
export interface GlobalDetector extends DetectorMeta {
  kind: "global";
  /**
   * What the detector reads of the windows, as filters. Declared, the scan keeps of each window
   * only its principal and the candidates and geo points some global detector accepts (windows
   * with none are left out) instead of every window whole until the end: memory with many
   * identities. Absent: the detector gets every window whole.
   */
  reads?: {
    candidate?(ev: TrailEvent): boolean;
    geo?(w: IdentityWindow, g: GeoPoint): boolean;
    /** It calls `GlobalContext.baselineOf` (the scan then keeps every identity's baseline view until the end). */
    baselines?: boolean;
  };
  detect(windows: readonly IdentityWindow[], ctx: GlobalContext): FindingDraft[];
}

export type Detector = EventDetector | WindowDetector | GlobalDetector;

export const SEVERITY_SCORE: Record<Severity, number> = { critical: 95, high: 75, medium: 50, low: 25, info: 5 };
