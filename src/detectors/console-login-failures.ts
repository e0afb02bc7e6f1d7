import type { Principal, Severity, TrailEvent } from "../events/types.js";
import { multiDraft, q, str, who } from "./lib/util.js";
import type { FindingDraft, GlobalContext, GlobalDetector, IdentityWindow } from "./types.js";

/**
 * Failed console sign-ins across identities: brute force against one user, password spraying
 * from one address against several users, and MFA failures after a correct password. A
 * success after the failures raises the severity.
 *
 * Relies on ConsoleLogin events being window candidates (selected by the
 * `console-login-without-mfa` event detector).
 */

export const BRUTE_FORCE_MIN = 5;
export const SPRAY_MIN_USERS = 3;
/** Failures for unknown user names (`HIDDEN_DUE_TO_SECURITY_REASONS`) from one address that count as enumeration. */
export const HIDDEN_MIN = 10;
const HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS";

interface Login {
  ev: TrailEvent;
  user: string;
  principal: Principal;
  ok: boolean;
  mfaUsed?: string;
}

function logins(windows: readonly IdentityWindow[]): Login[] {
  const out: Login[] = [];
  for (const w of windows) {
    for (const ev of w.candidates) {
      if (ev.eventName !== "ConsoleLogin") continue;
      const res = str(ev.responseElements?.ConsoleLogin);
      const ok = !ev.failed && res === "Success";
      if (!ok && !ev.failed) continue;
      const p = ev.principal;
      const user = p.type === "Root" ? "root" : (p.userName ?? p.key);
      const l: Login = { ev, user, principal: p, ok };
      const m = str(ev.additionalEventData?.MFAUsed);
      if (m) l.mfaUsed = m;
      out.push(l);
    }
  }
  return out.sort((a, b) => a.ev.time - b.ev.time);
}

export const consoleLoginFailures: GlobalDetector = {
  kind: "global",
  id: "console-login-failures",
  title: "Console sign-in failures (brute force, password spraying)",
  description:
    "Repeated failed console sign-ins for one user (brute force), one address failing for several users (password spraying), or a correct password followed by a failed MFA check. A success after the failures is the strongest signal.",
  severity: "medium",
  cites: "The failed console sign-ins that make the pattern (and the success that followed, which is the outcome being reported).",
  attack: ["T1110.001", "T1110.003"],
  investigate: [
    "Identify the source address (owner, country, VPN or hosting provider) and block it if it is not yours.",
    "For a success after failures: reset the password, revoke sessions (AWSRevokeOlderSessions), and review the session's actions.",
    "Make sure the targeted users have MFA.",
  ],
  falsePositives: ["A user who forgot a password or a changed password saved in a browser.", "Several colleagues behind one office NAT address mistyping passwords."],
  reads: { candidate: (ev) => ev.eventName === "ConsoleLogin" },
  detect(windows: readonly IdentityWindow[], _ctx: GlobalContext): FindingDraft[] {
    const all = logins(windows);
    const out: FindingDraft[] = [];

    // Brute force: one user, many failures.
    const byUser = new Map<string, Login[]>();
    for (const l of all) {
      if (l.user === HIDDEN) continue;
      const k = l.principal.key;
      let a = byUser.get(k);
      if (!a) byUser.set(k, (a = []));
      a.push(l);
    }
    for (const ls of byUser.values()) {
      const fails = ls.filter((l) => !l.ok);
      if (fails.length === 0) continue;
      const p = fails[0]!.principal;
      const lastFail = fails[fails.length - 1]!.ev.time;
      const success = ls.find((l) => l.ok && l.ev.time >= fails[0]!.ev.time);
      if (fails.length >= BRUTE_FORCE_MIN) {
        const ips = [...new Set(fails.map((l) => l.ev.sourceIp))];
        let sev: Severity = p.type === "Root" ? "high" : "medium";
        let why = `${fails.length} failed console sign-ins for ${who(p)} from ${ips.length} address${ips.length === 1 ? "" : "es"} (${ips
          .slice(0, 5)
          .map((i) => q(i))
          .join(", ")}).`;
        const evs = fails.map((l) => l.ev);
        if (success) {
          sev = "high";
          why += ` A successful sign-in followed from ${q(success.ev.sourceIp)}: the password may have been guessed.`;
          evs.push(success.ev);
        }
        out.push(
          withPrincipal(
            multiDraft(evs, sev, why, ["brute-force"], {
              title: success ? "Console brute force followed by success" : "Console brute force",
              failedSeverity: sev,
              evidence: { failures: fails.length, sources: ips, succeeded: !!success },
            }),
            p,
            !!success,
          ),
        );
      }
      // Correct password, failed MFA.
      const mfaFails = fails.filter((l) => l.mfaUsed === "Yes");
      if (mfaFails.length > 0) {
        const evs = mfaFails.map((l) => l.ev);
        const why =
          `${mfaFails.length} console sign-in${mfaFails.length === 1 ? "" : "s"} for ${who(p)} failed at the MFA step (the password was accepted) from ${q(mfaFails[0]!.ev.sourceIp)}.` +
          (success && success.ev.time > lastFail ? " A successful sign-in followed." : " If the user did not try to sign in, the password is known to someone else.");
        out.push(
          withPrincipal(
            multiDraft(evs, "medium", why, ["mfa-failure"], { title: "Correct password, failed MFA", evidence: { failures: mfaFails.length }, failedSeverity: "medium" }),
            p,
            false,
          ),
        );
      }
    }

    // Password spraying: one address, several users.
    const byIp = new Map<string, Login[]>();
    for (const l of all) {
      if (!l.ev.sourceIp) continue;
      let a = byIp.get(l.ev.sourceIp);
      if (!a) byIp.set(l.ev.sourceIp, (a = []));
      a.push(l);
    }
    for (const [ip, ls] of byIp) {
      const fails = ls.filter((l) => !l.ok);
      const users = new Set(fails.filter((l) => l.user !== HIDDEN).map((l) => l.principal.key));
      const hidden = fails.filter((l) => l.user === HIDDEN).length;
      const distinct = users.size + (hidden > 0 ? 1 : 0);
      if (distinct < SPRAY_MIN_USERS && hidden < HIDDEN_MIN) continue;
      const successes = ls.filter((l) => l.ok && l.ev.time >= fails[0]!.ev.time);
      const sev: Severity = successes.length > 0 ? "high" : "medium";
      const names = [...new Set(fails.map((l) => l.user))].slice(0, 8);
      let why =
        `${fails.length} failed console sign-ins from ${q(ip)} for ${users.size} known user${users.size === 1 ? "" : "s"}` +
        (hidden > 0 ? ` and ${hidden} attempt${hidden === 1 ? "" : "s"} with user names that do not exist in the account` : "") +
        ` (${names.map((n) => q(n, 40)).join(", ")}).`;
      if (successes.length > 0)
        why += ` ${successes.length} sign-in${successes.length === 1 ? "" : "s"} from the same address succeeded (${successes.map((s) => q(s.user, 40)).join(", ")}).`;
      const source: Principal = { key: `ip:${ip}`, type: "SourceAddress", userName: ip };
      const evs = [...fails.map((l) => l.ev), ...successes.map((l) => l.ev)];
      out.push(
        withPrincipal(
          multiDraft(evs, sev, why, ["spray", ip], {
            title: successes.length > 0 ? "Password spraying with a success" : "Password spraying",
            failedSeverity: sev,
            evidence: { sourceIp: ip, users: names, unknownUserAttempts: hidden },
          }),
          source,
          successes.length > 0,
        ),
      );
    }
    return out;
  },
};

function withPrincipal(d: FindingDraft, p: Principal, succeeded: boolean): FindingDraft {
  d.principal = p;
  // Failures are the point of this detector: the finding is only an "attempt" when nothing succeeded.
  if (succeeded) delete d.failed;
  return d;
}

export default consoleLoginFailures;
