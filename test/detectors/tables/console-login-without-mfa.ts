import { consoleLoginWithoutMfa } from "../../../src/detectors/console-login-without-mfa.js";
import { iamUser } from "../../helpers/events.js";
import { rec, type Table } from "./runner.js";

const login = (mfa: "Yes" | "No", extra: Record<string, unknown> = {}) =>
  rec({
    eventName: "ConsoleLogin",
    eventSource: "signin.amazonaws.com",
    eventType: "AwsConsoleSignIn",
    userIdentity: iamUser("bob"),
    responseElements: { ConsoleLogin: "Success" },
    additionalEventData: { MFAUsed: mfa, ...extra },
    userAgent: "Mozilla/5.0",
  });

export const table: Table = {
  detector: consoleLoginWithoutMfa,
  cases: [
    { name: "fires on an IAM user signing in to the console without MFA", anomalous: [login("No")], expect: "medium" },
    { name: "stays quiet on a sign-in with MFA", normal: [login("Yes")], expect: null },
  ],
};
