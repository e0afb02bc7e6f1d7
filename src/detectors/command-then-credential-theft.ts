import type { TrailEvent } from "../events/types.js";
import { ssmTargets } from "./lib/compute.js";
import { outsideAws } from "./lib/network.js";
import { INSTANCE_SESSION, params, q, str, rp, who } from "./lib/util.js";
import type { FindingDraft, GeoPoint, GlobalContext, GlobalDetector, IdentityWindow } from "./types.js";

/**
 * A chain across identities: someone runs an SSM command on (or opens a session to) an instance,
 * and afterwards that instance's role credentials (session name = the instance id) are used from
 * a network outside AWS. Each half alone can be routine (operators use SSM; a stray call from
 * outside is instance-credential-abuse's finding); together they read as "ran code on the box,
 * took its credentials, used them elsewhere".
 *
 * Attributed to the identity that sent the command (who started the chain); the instance role
 * and the outside addresses are named in the text and evidence. Cites the command and the calls
 * from outside AWS made with that instance's credentials after it.
 */

interface Command {
  ev: TrailEvent;
  instances: string[];
}

export const commandThenCredentialTheft: GlobalDetector = {
  kind: "global",
  id: "command-then-credential-theft",
  title: "Command on an instance, then its credentials used outside AWS",
  description:
    "An SSM command or session reached an instance, and afterwards that instance's role credentials were used from a network outside AWS: " +
    "the shape of an attacker running code on the instance to take its credentials.",
  severity: "critical",
  cites: "The SSM command (or session start) that reached the instance, and the calls made afterwards with that instance's credentials from outside AWS.",
  attack: ["T1651", "T1552.005", "T1078.004"],
  investigate: [
    "Read the command that was sent (ssm:GetCommandInvocation, the document and its parameters): did it read the metadata service?",
    "Revoke the instance role's sessions (AWSRevokeOlderSessions) and review what the outside address did with them.",
    "Investigate the identity that sent the command: was it expected to administer this instance?",
  ],
  falsePositives: ["An operator who copied instance credentials to a laptop to debug (itself a practice to stop)."],
  reads: {
    candidate: (ev) => ev.service === "ssm" && !ev.failed && (ev.eventName === "SendCommand" || ev.eventName === "StartSession"),
    geo: (w, g) => outsideInstanceSession(w, g),
  },
  detect(windows: readonly IdentityWindow[], _ctx: GlobalContext): FindingDraft[] {
    const commands: Command[] = [];
    for (const w of windows) {
      for (const ev of w.candidates) {
        if (ev.service !== "ssm" || ev.failed) continue;
        if (ev.eventName === "SendCommand") commands.push({ ev, instances: ssmTargets(params(ev)).instances });
        else if (ev.eventName === "StartSession") {
          const t = str(rp(ev, "target"));
          if (t) commands.push({ ev, instances: [t] });
        }
      }
    }
    if (commands.length === 0) return [];
    // Instance sessions used from outside AWS, per instance id.
    const outside = new Map<string, { w: IdentityWindow; points: GeoPoint[] }>();
    for (const w of windows) {
      if (w.principal.type !== "AssumedRole") continue;
      for (const g of w.geo) {
        if (!g.session || !outsideInstanceSession(w, g)) continue;
        let o = outside.get(g.session);
        if (!o) outside.set(g.session, (o = { w, points: [] }));
        o.points.push(g);
      }
    }
    const out: FindingDraft[] = [];
    for (const c of commands) {
      for (const inst of c.instances) {
        const o = outside.get(inst);
        if (!o) continue;
        const after = o.points.filter((g) => g.time >= c.ev.time);
        if (after.length === 0) continue;
        const ips = [...new Set(after.map((g) => g.ip))];
        const nets = [...new Set(after.map((g) => g.geo?.asOrg ?? (g.geo?.asn !== undefined ? `AS${g.geo.asn}` : "no announced network")))];
        const minutes = Math.round((after[0]!.time - c.ev.time) / 60_000);
        const why =
          `${who(c.ev.principal)} ran ${c.ev.eventName === "SendCommand" ? `SSM document ${q(str(rp(c.ev, "documentName")) ?? "?")}` : "an SSM session"} on instance ${q(inst)}; ` +
          `${minutes} minute${minutes === 1 ? "" : "s"} later that instance's credentials (${who(o.w.principal)} session ${q(inst)}) were used from ${ips.map((i) => q(i)).join(", ")} ` +
          `on ${nets.map((n) => q(n)).join(", ")}, outside AWS. Instance credentials used outside AWS right after a command on the instance suggest the command took them.`;
        const ids = [c.ev.id, ...after.map((g) => g.eventId)];
        out.push({
          severity: "critical",
          why,
          fingerprint: [inst],
          eventIds: [...new Set(ids)].slice(0, 20),
          firstSeen: c.ev.time,
          lastSeen: Math.max(...after.map((g) => g.time)),
          count: 1 + after.length,
          sourceIp: ips[0]!,
          region: c.ev.region,
          principal: c.ev.principal,
          evidence: {
            instance: inst,
            command: c.ev.eventName,
            document: str(rp(c.ev, "documentName")),
            instanceRole: o.w.principal.userName,
            outsideAddresses: ips,
            networks: nets,
          },
        });
      }
    }
    return out;
  },
};

/** A call of an instance role's session (session name = the instance id) from outside AWS. */
function outsideInstanceSession(w: IdentityWindow, g: GeoPoint): boolean {
  return w.principal.type === "AssumedRole" && g.session !== undefined && INSTANCE_SESSION.test(g.session) && outsideAws(g.geo);
}

export default commandThenCredentialTheft;
