import type { SlackMessage } from "./limits.js";
import { code, esc, mrkdwn, truncate } from "./text.js";

export const HELP_LINES = [
  "`/cloudtrail scan user NAME [24h|7d|since ISO [until ISO]]`: one IAM user (or role session name)",
  "`/cloudtrail scan ip IP [window]`: everything from one source address",
  "`/cloudtrail scan role ARN|NAME [window]`: one role and its sessions",
  "`/cloudtrail scan account [ID] [window]`: every identity in the account (default window 24h)",
  "`/cloudtrail status`: store size, last scans, read positions, identities still learning",
  "`/cloudtrail suppressions`: active suppressions, who made them, why, until when",
  "`/cloudtrail unsuppress ID`: end a suppression now (admins)",
  "`/cloudtrail baseline user NAME` (or `role NAME`): what is normal for that identity",
  "`/cloudtrail audit [N]`: the newest N audit entries, refusals included (admins)",
  "`/cloudtrail help`: this text",
];

/** The help text; with `problem`, it starts by saying what was not understood. */
export function helpMessage(problem?: { input: string; problem: string }): SlackMessage {
  const intro = problem
    ? `:thinking_face: I did not understand ${code(problem.input, 200)}: ${esc(truncate(problem.problem, 600))}`
    : ":dog2: *trailhound* finds suspicious activity in AWS CloudTrail.";
  const body = HELP_LINES.map((l) => `• ${l}`).join("\n");
  const foot =
    "Findings come with buttons: *Acknowledge* (viewers, unless configured otherwise), *Suppress…* (admins: hides matching findings until a date) and *Details* (evidence in the thread).";
  return {
    text: problem ? `I did not understand ${esc(truncate(problem.input, 200))}. Try /cloudtrail help.` : "trailhound: /cloudtrail commands",
    blocks: [
      { type: "section", block_id: "help:intro", text: mrkdwn(intro) },
      { type: "section", block_id: "help:cmds", text: mrkdwn(body) },
      { type: "context", block_id: "help:foot", elements: [mrkdwn(foot)] },
    ],
  };
}
