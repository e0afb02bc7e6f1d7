import { rootActivity } from "../../../src/detectors/root-activity.js";
import { iamUser, rootUser } from "../../helpers/events.js";
import { rec, type Table } from "./runner.js";

export const table: Table = {
  detector: rootActivity,
  cases: [
    { name: "fires on root creating an access key", anomalous: [rec({ eventName: "CreateAccessKey", userIdentity: rootUser() })], expect: "critical" },
    {
      name: "fires on a root console sign-in without MFA",
      anomalous: [
        rec({
          eventName: "ConsoleLogin",
          eventSource: "signin.amazonaws.com",
          eventType: "AwsConsoleSignIn",
          userIdentity: rootUser(),
          responseElements: { ConsoleLogin: "Success" },
          additionalEventData: { MFAUsed: "No" },
        }),
      ],
      expect: "critical",
    },
    { name: "stays quiet on an IAM user creating an access key", normal: [rec({ eventName: "CreateAccessKey", userIdentity: iamUser("alice") })], expect: null },
  ],
};
