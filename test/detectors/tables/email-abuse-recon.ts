import { emailAbuseRecon } from "../../../src/detectors/email-abuse-recon.js";
import { iamUser } from "../../helpers/events.js";
import { MIN, rec, routine, W, HOUR, type Table } from "./runner.js";

const key = iamUser("ci-mailer");
const history = routine({
  identity: key,
  calls: [
    ["PutObject", "s3.amazonaws.com"],
    ["GetObject", "s3.amazonaws.com"],
  ],
});
const ses = (eventName: string, t: number) => rec({ eventName, eventSource: "ses.amazonaws.com", userIdentity: key, time: t });

export const table: Table = {
  detector: emailAbuseRecon,
  cases: [
    {
      name: "fires on SES probing by a key that never used SES",
      history,
      normal: [rec({ eventName: "PutObject", eventSource: "s3.amazonaws.com", userIdentity: key, time: W + 8 * HOUR })],
      anomalous: ["GetSendQuota", "GetAccountSendingEnabled", "ListIdentities"].map((n, i) => ses(n, W + 15 * HOUR + i * MIN)),
      expect: "medium",
    },
    {
      name: "fires on a first production-access request by an identity that checks its quota every hour (novelty per API, not per service)",
      history: routine({
        identity: key,
        calls: [
          ["GetSendQuota", "ses.amazonaws.com"],
          ["SendEmail", "ses.amazonaws.com"],
        ],
      }),
      normal: [ses("GetSendQuota", W + 9 * HOUR)],
      anomalous: [ses("PutAccountDetails", W + 15 * HOUR), ses("CreateEmailIdentity", W + 15 * HOUR + MIN)],
      expect: "high",
    },
    {
      name: "stays quiet on an SES user's usual quota checks",
      history: routine({
        identity: key,
        calls: [
          ["GetSendQuota", "ses.amazonaws.com"],
          ["SendEmail", "ses.amazonaws.com"],
        ],
      }),
      normal: [ses("GetSendQuota", W + 9 * HOUR), ses("GetSendStatistics", W + 10 * HOUR)],
      expect: null,
    },
    { name: "stays quiet on S3 work", history, normal: [rec({ eventName: "PutObject", eventSource: "s3.amazonaws.com", userIdentity: key, time: W + 8 * HOUR })], expect: null },
  ],
};
