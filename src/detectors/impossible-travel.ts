/**
 * impossible-travel: two consecutive public-address observations of one identity that imply a
 * speed above `ctx.config.maxSpeedKmh` (about 900 km/h, an airliner).
 *
 * Distance is the haversine distance between the two geolocations minus both accuracy radii (when
 * the database gives one), so an imprecise fix never creates travel. Hops shorter than
 * `ctx.config.minTravelKm` after that correction are ignored (same metro area, geolocation noise).
 * Time is the gap between the observations, at least one minute (observations are de-duplicated
 * per address and minute). Skipped: observations from known relay networks (VPN, Tor operators:
 * their location is the exit's, not the person's), and hops between two cloud/hosting networks
 * (workloads run in many regions at once). A hop with one cloud end is kept but lowered (a key used
 * both on a laptop and in CI is worth a look, not an alarm), and so is a hop inside one network
 * (dual-stack IPv4/IPv6 and mobile gateways are often geolocated far apart).
 *
 * For roles, observations of different sessions are different people or machines: when the scan
 * gives a session per observation (`GeoPoint.session`), hops are computed within a session only.
 * Needs no baseline, so it also works on identities that are still learning.
 *
 * With a baseline, a hop between two places the subject worked from before the window (the
 * person's own baseline for a judged person on a shared role, else the identity's; both the
 * network and the country of each end known) is its routine, not travel: a VPN or a split tunnel
 * whose exits are far apart, two offices, a phone and a laptop on different carriers. Such hops are
 * not reported: they recur every day and say nothing about stolen credentials, whose use comes from
 * a place new to the subject (or held back from its baseline by an open finding of medium or higher:
 * src/baseline/held.ts). A hop with one new end is reported as before.
 */
import type { BaselineView } from "../baseline/view.js";
import type { GeoInfo } from "../geo/types.js";
import { haversineKm } from "../geo/distance.js";
import type { DetectorContext, FindingDraft, GeoPoint, IdentityWindow, WindowDetector } from "./types.js";
import { identityNoun, isAwsManaged, severityOf } from "./lib/novelty.js";
import { thousands } from "./lib/util.js";

type Located = GeoPoint & { geo: GeoInfo & { lat: number; lon: number }; session?: string };

interface Hop {
  a: Located;
  b: Located;
  km: number;
  effKm: number;
  minutes: number;
  speed: number;
  oneCloud: boolean;
}

function where(p: Located): string {
  const g = p.geo;
  const loc = [g.city, g.country].filter(Boolean).join(", ") || `${g.lat.toFixed(1)},${g.lon.toFixed(1)}`;
  const net = g.asn !== undefined ? `AS${g.asn}${g.asOrg ? " " + g.asOrg : ""}` : "unknown network";
  return `${loc} (${p.ip}, ${net})`;
}

function hhmm(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

function duration(min: number): string {
  if (min < 90) return `${Math.round(min)} minute${Math.round(min) === 1 ? "" : "s"}`;
  return `${(min / 60).toFixed(1)} hours`;
}

export const impossibleTravel: WindowDetector = {
  id: "impossible-travel",
  kind: "window",
  title: "Impossible travel between source addresses",
  description:
    "Two consecutive calls by the same identity came from places too far apart for the time between them (faster than an airliner), " +
    "after allowing for geolocation accuracy and ignoring VPN/relay networks, cloud-to-cloud hops and hops between two places the identity (or the person) worked from before.",
  severity: "high",
  cites: "The two calls at each end of each impossible hop.",
  attack: ["T1078.004", "T1550.001"],
  investigate: [
    "Which of the two places is the usual one for this identity? The other is the suspect session.",
    "Compare the user agents and the APIs called from each address.",
    "For an IAM user: check whether the access key or console password was used from both; for a role, which session made each call.",
    "If one side is unexpected: deactivate the key or revoke the role's active sessions, then rotate the credentials.",
  ],
  falsePositives: [
    "A VPN, proxy or privacy relay not in the built-in relay list (add its network to the relay list).",
    "Wrong geolocation of mobile or satellite networks, or of addresses that moved between providers.",
    "One access key shared by a person and a workload in another region.",
  ],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    if (isAwsManaged(win.principal)) return [];
    const maxSpeed = ctx.config.maxSpeedKmh > 0 ? ctx.config.maxSpeedKmh : 900;
    const minKm = ctx.config.minTravelKm >= 0 ? ctx.config.minTravelKm : 100;
    const pts = win.geo.filter((p): p is Located => p.geo?.lat !== undefined && p.geo.lon !== undefined && !p.geo.relay).sort((x, y) => x.time - y.time);
    if (pts.length < 2) return [];
    const isRole = win.principal.type === "AssumedRole";
    const prevBySession = new Map<string, Located>();
    const hops: Hop[] = [];
    for (const p of pts) {
      const sk = isRole && p.session ? p.session : "";
      const prev = prevBySession.get(sk);
      prevBySession.set(sk, p);
      if (!prev || prev.ip === p.ip) continue;
      if (prev.geo.hosting && p.geo.hosting) continue;
      const km = haversineKm(prev.geo.lat, prev.geo.lon, p.geo.lat, p.geo.lon);
      const effKm = km - (prev.geo.accuracyKm ?? 0) - (p.geo.accuracyKm ?? 0);
      if (effKm < minKm) continue;
      const minutes = Math.max(1, (p.time - prev.time) / 60_000);
      const speed = effKm / (minutes / 60);
      if (speed <= maxSpeed) continue;
      hops.push({ a: prev, b: p, km, effKm, minutes, speed, oneCloud: Boolean(prev.geo.hosting || p.geo.hosting) });
    }
    if (hops.length === 0) return [];
    const usual = usualPlace(ctx);
    const travel = hops.filter((h) => !usual(h.a) || !usual(h.b));
    if (travel.length === 0) return [];

    // One finding per pair of countries (stable fingerprint), keeping the fastest hop.
    const byPair = new Map<string, Hop[]>();
    for (const h of travel) {
      const pair = [h.a.geo.country ?? "??", h.b.geo.country ?? "??"].sort().join("|");
      if (!byPair.has(pair)) byPair.set(pair, []);
      byPair.get(pair)!.push(h);
    }
    const noun = identityNoun(win.principal);
    // One set of credentials for sure: a user, root, or hops known to be within one role session.
    // A role without session information (including AWSReservedSSO_* roles that many people share)
    // may be two people in two places.
    const sameCredentials = !isRole || travel.every((h) => h.a.session !== undefined && h.a.session === h.b.session);
    const out: FindingDraft[] = [];
    for (const [pair, hs] of byPair) {
      hs.sort((x, y) => y.speed - x.speed);
      const h = hs[0]!;
      let score = sameCredentials ? 72 : 55;
      const notes: string[] = [];
      if (h.oneCloud) {
        score *= 0.6;
        notes.push("one end is a cloud/hosting network (a workload?), lowered");
      }
      if (h.a.geo.asn !== undefined && h.a.geo.asn === h.b.geo.asn) {
        // Dual-stack IPv4/IPv6 and mobile carriers' gateways are often placed far apart by geolocation.
        score *= 0.5;
        notes.push(`both addresses are in the same network (AS${h.a.geo.asn}), whose geolocation is often imprecise: lowered`);
      }
      if (h.speed < 2 * maxSpeed && h.effKm < 1500) {
        score *= 0.8;
        notes.push("close to the threshold, lowered");
      }
      if (!sameCredentials) notes.push("a role without session information: the two calls may come from different sessions");
      const severity = severityOf(score);
      if (!severity) continue;
      const [ca, cb] = pair.split("|") as [string, string];
      const ids: string[] = [];
      for (const x of hs) for (const id of [x.a.eventId, x.b.eventId]) if (ids.length < 20 && !ids.includes(id)) ids.push(id);
      const acc = (h.a.geo.accuracyKm ?? 0) + (h.b.geo.accuracyKm ?? 0);
      out.push({
        severity,
        score: Math.round(score),
        title: ca === cb ? `Impossible travel within ${ca}` : `Impossible travel between ${ca} and ${cb}`,
        why:
          `${noun} called from ${where(h.a)} at ${hhmm(h.a.time)} and from ${where(h.b)} at ${hhmm(h.b.time)}: ` +
          `${Math.round(h.km)} km${acc ? ` (${Math.round(h.effKm)} km after ${Math.round(acc)} km of geolocation accuracy)` : ""} in ${duration(h.minutes)}, ` +
          `${thousands(Math.round(h.speed))} km/h against a limit of ${maxSpeed} km/h; neither network is a known VPN or relay` +
          (hs.length > 1 ? `; ${hs.length} such hops in the window` : "") +
          (notes.length ? `; ${notes.join("; ")}` : "") +
          ".",
        fingerprint: ca === cb ? [ca] : [ca, cb],
        eventIds: ids,
        firstSeen: Math.min(...hs.map((x) => x.a.time)),
        lastSeen: Math.max(...hs.map((x) => x.b.time)),
        count: hs.length * 2,
        sourceIp: h.b.ip,
        evidence: {
          from: { ip: h.a.ip, time: new Date(h.a.time).toISOString(), ...h.a.geo },
          to: { ip: h.b.ip, time: new Date(h.b.time).toISOString(), ...h.b.geo },
          km: Math.round(h.km),
          effectiveKm: Math.round(h.effKm),
          minutes: Math.round(h.minutes),
          speedKmh: Math.round(h.speed),
          maxSpeedKmh: maxSpeed,
          hops: hs.length,
        },
      });
    }
    return out;
  },
};

/**
 * Whether an observation is from a place its subject worked from before the window: its network and
 * its country both known to the baseline of the person whose session it is (a judged person on a
 * shared role), else to the identity's. Nothing is usual to a baseline that is still learning.
 */
function usualPlace(ctx: DetectorContext): (p: Located) => boolean {
  const bySession = new Map<string, BaselineView>();
  for (const person of ctx.people ?? []) if (!person.learning) for (const s of person.window.sessions) bySession.set(s, person.baseline);
  const own = ctx.learning ? undefined : ctx.baseline;
  return (p) => {
    const b = (p.session !== undefined ? bySession.get(p.session) : undefined) ?? own;
    const g = p.geo;
    return b !== undefined && g.asn !== undefined && g.country !== undefined && b.known("network", `AS${g.asn}`) && b.known("country", g.country);
  };
}

export default impossibleTravel;
