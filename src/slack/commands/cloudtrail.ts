/** The `/cloudtrail` slash command: parse, then one handler per verb. Everything is acked within 3 s. */
import { DEFAULT_BASELINE_CONFIG } from "../../baseline/profile.js";
import { BaselineView, learningAt } from "../../baseline/view.js";
import type { BaselineFacts } from "../../store/baselines.js";
import { allow, type Permission } from "../access.js";
import type { Bot } from "../context.js";
import { auditMessage } from "../views/audit.js";
import { helpMessage } from "../views/help.js";
import type { SlackMessage } from "../views/limits.js";
import { alertLatency } from "../../digest/latency.js";
import { baselineMessage, noBaselineMessage, statusMessage, suppressionsMessage } from "../views/status.js";
import { code, esc, mention, slackDate } from "../views/text.js";
import { parseCommand, type Command } from "./parse.js";
import { startScan, type CommandArgs } from "./scan.js";

export const COMMAND = "/cloudtrail";

/** Quick answers are sent with the ack itself; past this budget, ack "working" and respond later. */
const QUICK_BUDGET_MS = 1500;

async function quick(bot: Bot, args: CommandArgs, work: () => Promise<SlackMessage>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const p = work().then(
    (m) => ({ ok: true as const, m }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  const first = await Promise.race([p, new Promise<"slow">((r) => (timer = setTimeout(() => r("slow"), QUICK_BUDGET_MS)))]);
  clearTimeout(timer);
  const asReply = (r: Awaited<typeof p>) => {
    if (r.ok) return { response_type: "ephemeral" as const, text: r.m.text, ...(r.m.blocks.length > 0 ? { blocks: r.m.blocks } : {}) };
    bot.log.error("command failed", { text: args.command.text, err: r.err });
    return { response_type: "ephemeral" as const, text: `:x: That did not work: ${esc(r.err instanceof Error ? r.err.message : String(r.err))}` };
  };
  if (first !== "slow") return args.ack(asReply(first));
  await args.ack({ response_type: "ephemeral", text: ":hourglass_flowing_sand: Working on it…" });
  await args.respond({ ...asReply(await p), replace_original: false });
}

/** Identities still learning, from the stored baselines' facts (no profile is decoded). */
function learningKeys(facts: Iterable<BaselineFacts>, now: number): string[] {
  const out: string[] = [];
  // People's own baselines on shared roles are not identities of their own (the role is).
  for (const f of facts) if (!f.key.startsWith("person:") && learningAt(f, now, DEFAULT_BASELINE_CONFIG)) out.push(f.key);
  return out;
}

async function status(bot: Bot): Promise<SlackMessage> {
  const now = bot.now();
  const latency = alertLatency(bot.store.digests(), (id) => bot.store.getFinding(id));
  const runs = bot.digest?.figures?.();
  return statusMessage({
    ...(latency ? { alertLatency: latency } : {}),
    ...(runs?.length ? { runs } : {}),
    ...(bot.athena ? { athena: bot.athena.status() } : {}),
    stats: bot.store.stats(now),
    scans: bot.store.scans(5).reverse(),
    learning: learningKeys(bot.store.getBaselineFacts().values(), now),
    ...(bot.notifier?.enabled ? { notifications: { delivered: bot.notifier.delivered(), deadLetters: bot.notifier.deadLetters() } } : {}),
  });
}

async function baseline(bot: Bot, cmd: Extract<Command, { kind: "baseline" }>): Promise<SlackMessage> {
  const { kind, value } = cmd.identity;
  // Found by the facts kept beside each stored baseline; only the one shown is decoded.
  const matches = [...bot.store.getBaselineFacts()]
    .filter(([, p]) => {
      if (kind === "key") return p.key === value;
      const isRole = p.key.startsWith("role:");
      // A person's baseline on a shared role answers to the person (`user nina@example.com`) only.
      if (p.key.startsWith("person:")) return kind === "user" && p.key.endsWith(`:${value}`);
      if (kind === "role") return isRole && (p.userName === value || p.arn?.endsWith(`/${value}`) === true || p.key.endsWith(`:${value}`));
      return !isRole && (p.userName === value || p.key.endsWith(`:${value}`));
    })
    .sort((a, b) => b[1].events - a[1].events);
  const p = matches[0] && bot.store.getBaseline(matches[0][0]);
  if (!p) return noBaselineMessage(`${kind === "key" ? "" : kind + " "}${value}`);
  return baselineMessage(p, new BaselineView(p, bot.now(), DEFAULT_BASELINE_CONFIG).learning, matches.length - 1);
}

/** End a suppression (admins). Shared by the command and the Home tab button. */
export async function unsuppress(bot: Bot, user: string, id: string): Promise<{ ok: boolean; text: string }> {
  const d = await allow(bot, user, "suppress", `unsuppress:${id}`);
  if (!d.allowed) return { ok: false, text: `:no_entry: ${esc(d.reason)}` };
  const existing = bot.store.getSuppression(id);
  if (!existing) return { ok: false, text: `No suppression ${code(id)}: see \`/cloudtrail suppressions\`.` };
  if (existing.removed) return { ok: false, text: `Suppression ${code(id)} was already ended by ${mention(existing.removed.by)} ${slackDate(existing.removed.at)}.` };
  // The store releases the findings it hid and writes the audit entry.
  const s = await bot.store.unsuppress(id, user, bot.now());
  return { ok: true, text: `:loud_sound: Suppression ${code(s.id)} ended by ${mention(user)}; matching findings show again.` };
}

/** What each verb needs (scan checks its own; unsuppress checks in unsuppress()). */
const NEEDS: Partial<Record<Command["kind"], Permission>> = { status: "view", suppressions: "view", baseline: "view", audit: "audit" };

function targetOf(cmd: Command): string {
  if (cmd.kind === "baseline") return `baseline:${cmd.identity.kind} ${cmd.identity.value}`;
  return cmd.kind;
}

export async function handleCloudtrail(bot: Bot, args: CommandArgs): Promise<void> {
  const cmd = parseCommand(args.command.text, bot.now());
  const need = NEEDS[cmd.kind];
  if (need) {
    const d = await allow(bot, args.command.user_id, need, targetOf(cmd));
    if (!d.allowed) return args.ack({ response_type: "ephemeral", text: `:no_entry: ${esc(d.reason)}` });
  }
  switch (cmd.kind) {
    case "audit":
      return quick(bot, args, async () => auditMessage(bot.store.auditLog(cmd.limit), cmd.limit, bot.store.stats(bot.now()).counts.audit));
    case "scan":
      return startScan(bot, args, cmd);
    case "help":
      return quick(bot, args, async () => helpMessage());
    case "invalid":
      return quick(bot, args, async () => helpMessage(cmd));
    case "status":
      return quick(bot, args, () => status(bot));
    case "suppressions":
      return quick(bot, args, async () => suppressionsMessage(await bot.store.activeSuppressions(bot.now())));
    case "baseline":
      return quick(bot, args, () => baseline(bot, cmd));
    case "unsuppress":
      return quick(bot, args, async () => {
        const { text } = await unsuppress(bot, args.command.user_id, cmd.id);
        return { text, blocks: [] };
      });
  }
}
