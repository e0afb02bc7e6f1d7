/**
 * new-source-network: the identity acts from a public address, network (AS) or country it has not
 * used before. Needs history: nothing is raised while the identity is learning.
 *
 * Levels (one finding per new country, per new network, and per known network with new addresses):
 *  - new country: base 75 (high), x (0.45 + 0.55 exp(-r_country)) so an identity that often shows
 *    up in new countries (a traveller) drops to medium;
 *  - new network (AS) in a known country: base 50 (medium), graded the same way by r_network;
 *  - new address inside a known network: base 20 (low), graded by r_ip down to info (dynamic
 *    addresses from the same ISP are routine). Fingerprint = the network, so acknowledging "new
 *    addresses from my usual ISP" sticks.
 *  - an identity whose whole history is private/VPC or AWS-internal addresses acting from the
 *    internet: one medium finding (credentials used outside the network they belong to).
 * Known relays (VPN, Tor-operator networks) lower the score by 40%: their location says little and
 * they are a common, if not benign, way to work. Cloud/hosting networks used by roles lower it by
 * 25% (workloads move between cloud networks).
 */
import { classifySourceIp } from "../events/normalize.js";
import type { GeoInfo } from "../geo/types.js";
import type { DetectorContext, FindingDraft, IdentityWindow, WindowDetector } from "./types.js";
import { fmtNum } from "./lib/stats.js";
import { identityNoun, isAwsManaged, onlyKey, plural, severityOf, smoothedRate, surprise } from "./lib/novelty.js";
import { DAY, type Dim, type Stat } from "../baseline/profile.js";
import type { BaselineView } from "../baseline/view.js";
import { forPerson, personNoun, subjectsOf, type Subject } from "./lib/people.js";
import { heldDaysOf } from "../baseline/held.js";

interface IpObs {
  ip: string;
  geo?: GeoInfo;
  first: number;
  last: number;
  n: number;
  ids: string[];
}

function netKey(g: GeoInfo | undefined): string | undefined {
  return g?.asn !== undefined ? `AS${g.asn}` : undefined;
}

function netLabel(g: GeoInfo | undefined): string {
  if (!g || g.asn === undefined) return "unknown network";
  return g.asOrg ? `AS${g.asn} ${g.asOrg}` : `AS${g.asn}`;
}

function place(g: GeoInfo | undefined): string {
  if (!g) return "unknown location";
  return [g.city, g.country].filter(Boolean).join(", ") || "unknown location";
}

export const newSourceNetwork: WindowDetector = {
  id: "new-source-network",
  kind: "window",
  title: "Activity from a new network or country",
  description:
    "The identity used a public address, network (autonomous system) or country that is absent from its history. " +
    "A new country weighs most, a new network less, a new address inside a known network least; known VPN/relay networks and " +
    "identities that often change place weigh less.",
  severity: "medium",
  cites: "The calls from the new addresses, networks or countries only (never the identity's usual ones).",
  attack: ["T1078.004", "T1550.001"],
  investigate: [
    "Ask the person behind the identity whether they worked from this place or network (travel, new ISP, VPN).",
    "For a role or access key normally used by a workload, find where the credentials could have leaked (instance metadata, CI logs, a laptop).",
    "Compare the user agent and the APIs called from the new network with the identity's usual ones.",
    "If unexpected: deactivate the access key or revoke the role's sessions (aws:TokenIssueTime condition), then rotate.",
  ],
  falsePositives: [
    "Travel, a new home ISP or mobile tethering.",
    "A corporate VPN or proxy egress that changed, or a privacy relay (iCloud Private Relay, Cloudflare WARP).",
    "A workload moved to a new region, cloud account or CI runner pool.",
  ],
  detect(win: IdentityWindow, ctx: DetectorContext): FindingDraft[] {
    if (isAwsManaged(win.principal)) return [];
    const out: FindingDraft[] = [];
    for (const s of subjectsOf(win, ctx)) for (const d of judge(s, win.principal)) out.push(forPerson(d, s, win.principal));
    return out;
  },
};

/**
 * The distinct days a person's (or identity's) new country was seen on: the days recorded while it
 * was held back by an open finding (src/baseline/held.ts), and the window's days from it.
 */
function countryDays(b: BaselineView, cc: string, windowTimes: readonly number[]): number {
  const days = heldDaysOf(b.profile, "country", cc, b.windowStart);
  for (const t of windowTimes) days.add(Math.floor(t / DAY));
  return days.size;
}

/** Whether the baseline knew a public source address before the window (BaselineView.values("ip"), without a record or a sort of them). */
function anyKnownPublicIp(b: BaselineView): boolean {
  const ws = b.windowStart;
  let any = false;
  b.eachFirstSeen("ip", (ip, first) => {
    if (!any && first < ws && classifySourceIp(ip) === "public") any = true;
  });
  return any;
}

/**
 * How many public source addresses the baseline knew before the window: `b.values("ip")`'s public
 * ones counted (the same values), without a record made of the dimension or its values sorted.
 */
function knownPublicIpCount(b: BaselineView): number {
  const ws = b.windowStart;
  let n = 0;
  b.eachFirstSeen("ip", (ip, first) => {
    if (first < ws && classifySourceIp(ip) === "public") n++;
  });
  return n;
}

function judge(s: Subject, rolePrincipal: IdentityWindow["principal"]): FindingDraft[] {
  const win = s.win;
  if (s.learning || win.geo.length === 0) return [];
  const b = s.baseline;
  const noun = personNoun(s, identityNoun(rolePrincipal));
  // Workloads move between cloud networks; people do not work from rented servers.
  const isRole = !s.person && win.principal.type === "AssumedRole" && !(win.principal.userName ?? "").startsWith("AWSReservedSSO_");
  // A person's value the role knows (other people of the role use it) weighs less.
  const roleKnows = (dim: Dim, v: string | undefined) => v !== undefined && s.role?.known(dim, v) === true;

  // Observations per public address.
  const byIp = new Map<string, IpObs>();
  for (const p of win.geo) {
    let o = byIp.get(p.ip);
    if (!o) {
      const ws = win.ips.get(p.ip);
      o = { ip: p.ip, first: p.time, last: p.time, n: ws?.n ?? 0, ids: ws ? ws.ids.slice() : [] };
      if (p.geo) o.geo = p.geo;
      byIp.set(p.ip, o);
    }
    o.first = Math.min(o.first, p.time);
    o.last = Math.max(o.last, p.time);
    if (!o.ids.includes(p.eventId) && o.ids.length < 10) o.ids.push(p.eventId);
    if (!o.geo && p.geo) o.geo = p.geo;
  }
  for (const o of byIp.values()) if (o.n === 0) o.n = o.ids.length;

  // The known values, most used first: listed only in the text of a finding (most subjects have none).
  let countries: Array<[string, Stat]> | undefined, nets: Array<[string, Stat]> | undefined, publicIps: number | undefined;
  const knownCountries = () => (countries ??= b.values("country"));
  const knownNets = () => (nets ??= b.values("network"));
  const knownPublicIps = () => (publicIps ??= knownPublicIpCount(b));

  const base = (group: IpObs[]) => {
    const ids: string[] = [];
    for (const o of group) for (const id of o.ids) if (ids.length < 20 && !ids.includes(id)) ids.push(id);
    return {
      eventIds: ids,
      firstSeen: Math.min(...group.map((o) => o.first)),
      lastSeen: Math.max(...group.map((o) => o.last)),
      count: group.reduce((a, o) => a + o.n, 0),
    };
  };
  const listIps = (group: IpObs[]) =>
    group
      .slice(0, 5)
      .map((o) => `${o.ip} (${place(o.geo)}, ${netLabel(o.geo)})`)
      .join("; ") + (group.length > 5 ? `; and ${group.length - 5} more` : "");
  const adjust = (score: number, group: IpObs[], hostingDiscount = true): { score: number; notes: string[] } => {
    const notes: string[] = [];
    if (group.every((o) => o.geo?.relay)) {
      score *= 0.6;
      notes.push(`the network is a known ${group[0]!.geo?.relayKind ?? "relay"} (location unreliable; lowered)`);
    } else if (hostingDiscount && isRole && group.every((o) => o.geo?.hosting)) {
      score *= 0.75;
      notes.push("a cloud/hosting network, where workloads run (lowered)");
    }
    return { score, notes };
  };
  const finish = (d: FindingDraft, group: IpObs[]) => {
    if (group.length === 1) d.sourceIp = group[0]!.ip;
    // The new places are what the baseline must not learn while the finding is open.
    const holds: Array<[Dim, string]> = [];
    for (const o of group) {
      holds.push(["ip", o.ip]);
      if (o.geo?.asn !== undefined) holds.push(["network", "AS" + o.geo.asn]);
      if (o.geo?.country) holds.push(["country", o.geo.country]);
    }
    d.holds = holds;
    const region = onlyKey(win.regions);
    if (region) d.region = region;
    return d;
  };

  const out: FindingDraft[] = [];
  const all = [...byIp.values()].sort((x, y) => x.first - y.first || (x.ip < y.ip ? -1 : 1));

  // Only private / AWS-internal sources in history, public ones now.
  const anyNet = b.distinct("network") > 0;
  if (!anyNet && !anyKnownPublicIp(b)) {
    if (b.distinct("ip") === 0) return []; // no source addresses in history at all: nothing to compare with
    // No cloud discount here: a VPC-only role used from a rented server is the exfiltration case.
    const { score, notes } = adjust(50, all, false);
    const severity = severityOf(score);
    if (!severity) return [];
    const d: FindingDraft = {
      severity,
      score: Math.round(score),
      title: `First use of ${noun.replace(/^(this|the) /, "")} from the internet`,
      why:
        `${noun} acted from ${plural(all.length, "public address", "public addresses")} (${listIps(all)}) for the first time. ` +
        `Baseline: ${b.summary()}. It only called from private (VPC) or AWS-internal addresses (${plural(b.distinct("ip"), "address", "addresses")})` +
        (notes.length ? `; ${notes.join("; ")}` : "") +
        ".",
      fingerprint: ["public-internet"],
      ...base(all),
      evidence: {
        ips: all.map((o) => ({ ip: o.ip, ...o.geo })),
        knownAddresses: b
          .values("ip")
          .slice(0, 5)
          .map(([ip]) => ip),
      },
    };
    return [finish(d, all)];
  }

  const anyCountry = b.distinct("country") > 0;
  const newCountry = new Map<string, IpObs[]>();
  const newNet = new Map<string, IpObs[]>();
  const newIp = new Map<string, IpObs[]>();
  for (const o of all) {
    const cc = o.geo?.country;
    const nk = netKey(o.geo);
    if (cc && anyCountry && !b.known("country", cc)) {
      if (!newCountry.has(cc)) newCountry.set(cc, []);
      newCountry.get(cc)!.push(o);
    } else if (nk && anyNet && !b.known("network", nk)) {
      if (!newNet.has(nk)) newNet.set(nk, []);
      newNet.get(nk)!.push(o);
    } else if (!b.known("ip", o.ip)) {
      const k = nk ?? "unresolved";
      if (!newIp.has(k)) newIp.set(k, []);
      newIp.get(k)!.push(o);
    }
  }

  // Each rate below (a pass over the dimension's values) is read only by the findings of its group:
  // not worked out for an empty group (most subjects have nothing new).
  const countriesText = () => {
    const known = knownCountries();
    const top = known.slice(0, 5).map(([c]) => c);
    return `${plural(known.length, "country", "countries")} (${top.join(", ")}${known.length > 5 ? ", ..." : ""})`;
  };
  const netsText = () => {
    const known = knownNets();
    const top = known.slice(0, 3).map(([n]) => n);
    return `${plural(known.length, "network")} (${top.join(", ")}${known.length > 3 ? ", ..." : ""})`;
  };

  const rC = newCountry.size > 0 ? smoothedRate(b, "country") : 0;
  for (const [cc, group] of newCountry) {
    const adj = adjust(75 * (0.45 + 0.55 * surprise(rC)), group);
    let score = adj.score;
    const notes = adj.notes;
    if (roleKnows("country", cc)) {
      score *= 0.6;
      notes.push(`${cc} is routine for the role (other people on it work from there; lowered)`);
    }
    // Travel: the same new country over days, from ordinary (not hosting or relay) networks, with
    // the person's usual tools and MFA, fades quickly; a single appearance from a server does not.
    const ips = new Set(group.map((o) => o.ip));
    const days = countryDays(
      b,
      cc,
      win.geo.filter((g) => ips.has(g.ip)).map((g) => g.time),
    );
    const ordinary = group.every((o) => o.geo !== undefined && !o.geo.hosting && !o.geo.relay);
    const usualTools = win.uas.size > 0 && [...win.uas.keys()].every((ua) => b.known("ua", ua));
    const mfa = win.events > 0 && (win.mfaEvents ?? 0) >= win.events;
    if (days >= 2 && ordinary && usualTools && mfa) {
      score *= days >= 3 ? 0.3 : 0.6;
      notes.push(`consistent travel: seen from ${cc} on ${days} days, from an ordinary network, with its usual tools and MFA (lowered)`);
    }
    const severity = severityOf(score);
    if (!severity) continue;
    const nets = [...new Set(group.map((o) => netLabel(o.geo)))];
    out.push(
      finish(
        {
          severity,
          score: Math.round(score),
          title: `${s.person ? s.person.name : noun.replace(/^(this|the) /, "").replace(/^./, (c) => c.toUpperCase())} active from a new country: ${cc}`,
          why:
            `first activity from ${cc} by ${noun}: ${listIps(group)}. Baseline: ${b.summary()}. It called from ${countriesText()} ` +
            `and ${netsText()}; it shows up in a new country on about ${fmtNum(100 * (1 - surprise(rC)))}% of active days` +
            (notes.length ? `; ${notes.join("; ")}` : "") +
            ".",
          fingerprint: ["country", cc],
          ...base(group),
          evidence: {
            country: cc,
            networks: nets,
            ips: group.map((o) => ({ ip: o.ip, ...o.geo })),
            knownCountries: knownCountries()
              .map(([c]) => c)
              .slice(0, 10),
            countryNoveltyRate: Number(b.noveltyRate("country").toFixed(3)),
          },
        },
        group,
      ),
    );
  }

  const rN = newNet.size > 0 ? smoothedRate(b, "network") : 0;
  for (const [nk, group] of newNet) {
    const adj = adjust(50 * (0.45 + 0.55 * surprise(rN)), group);
    let score = adj.score;
    const notes = adj.notes;
    if (roleKnows("network", nk)) {
      score *= 0.4;
      notes.push("a network other people on this role use, such as the office VPN (lowered)");
    }
    const severity = severityOf(score);
    if (!severity) continue;
    const g0 = group[0]!.geo;
    out.push(
      finish(
        {
          severity,
          score: Math.round(score),
          title: `Activity from a new network: ${netLabel(g0)}`,
          why:
            `first activity from ${netLabel(g0)} (${place(g0)}) by ${noun}: ${listIps(group)}. Baseline: ${b.summary()}. It used ${netsText()}; ` +
            `it shows up in a new network on about ${fmtNum(100 * (1 - surprise(rN)))}% of active days` +
            (notes.length ? `; ${notes.join("; ")}` : "") +
            ".",
          fingerprint: ["network", nk],
          ...base(group),
          evidence: {
            network: nk,
            asOrg: g0?.asOrg,
            ips: group.map((o) => ({ ip: o.ip, ...o.geo })),
            knownNetworks: knownNets()
              .map(([n]) => n)
              .slice(0, 10),
            networkNoveltyRate: Number(b.noveltyRate("network").toFixed(3)),
          },
        },
        group,
      ),
    );
  }

  const rI = newIp.size > 0 ? smoothedRate(b, "ip") : 0;
  for (const [nk, group] of newIp) {
    // Addresses other people on the role use (a shared egress) are not news about this person.
    if (group.every((o) => roleKnows("ip", o.ip))) continue;
    const { score, notes } = adjust(20 * (0.3 + 0.7 * surprise(rI)), group);
    const severity = severityOf(score);
    if (!severity) continue;
    const g0 = group[0]!.geo;
    const within =
      nk === "unresolved"
        ? "an unresolved network"
        : b.known("network", nk)
          ? `${netLabel(g0)}, a network it uses`
          : `${netLabel(g0)} (its history has no resolved networks to compare with)`;
    out.push(
      finish(
        {
          severity,
          score: Math.round(score),
          title: `New source address (${nk})`,
          why:
            `${plural(group.length, "new address", "new addresses")} for ${noun} in ${within}: ${listIps(group)}. ` +
            `Baseline: ${b.summary()}. It used ${plural(knownPublicIps(), "public address", "public addresses")}; ` +
            `it shows a new address on about ${fmtNum(100 * (1 - surprise(rI)))}% of active days` +
            (notes.length ? `; ${notes.join("; ")}` : "") +
            ".",
          fingerprint: ["new-address", nk],
          ...base(group),
          evidence: { network: nk, ips: group.map((o) => ({ ip: o.ip, ...o.geo })), ipNoveltyRate: Number(b.noveltyRate("ip").toFixed(3)) },
        },
        group,
      ),
    );
  }
  return out;
}

export default newSourceNetwork;
