import { consoleLoginFailures } from "../../../src/detectors/console-login-failures.js";
import { iamUser } from "../../helpers/events.js";
import { MIN, rec, W, HOUR, type Table } from "./runner.js";

const login = (user: string, ok: boolean, t: number, ip = "198.51.100.7") =>
  rec({
    eventName: "ConsoleLogin",
    eventSource: "signin.amazonaws.com",
    eventType: "AwsConsoleSignIn",
    userIdentity: iamUser(user),
    responseElements: { ConsoleLogin: ok ? "Success" : "Failure" },
    ...(ok ? {} : { errorMessage: "Failed authentication" }),
    additionalEventData: { MFAUsed: "No" },
    sourceIPAddress: ip,
    userAgent: "Mozilla/5.0",
    time: t,
  });

export const table: Table = {
  detector: consoleLoginFailures,
  cases: [
    {
      name: "fires on ten failed sign-ins for one user followed by a success, citing the failures and the success",
      normal: [login("carol", true, W + 8 * HOUR, "81.2.69.142")],
      anomalous: [...Array.from({ length: 10 }, (_, i) => login("bob", false, W + 14 * HOUR + i * MIN)), login("bob", true, W + 14 * HOUR + 11 * MIN)],
      expect: "high",
    },
    { name: "stays quiet on one mistyped password", normal: [login("bob", false, W + 9 * HOUR), login("bob", true, W + 9 * HOUR + MIN)], expect: null },
  ],
};
