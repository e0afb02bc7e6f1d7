import { credentialForOtherUser } from "../../../src/detectors/credential-for-other-user.js";
import { iamUser } from "../../helpers/events.js";
import { rec, type Table } from "./runner.js";

export const table: Table = {
  detector: credentialForOtherUser,
  cases: [
    {
      name: "fires on an access key created for another user",
      anomalous: [rec({ eventName: "CreateAccessKey", userIdentity: iamUser("alice"), requestParameters: { userName: "admin" } })],
      expect: "high",
    },
    {
      name: "stays quiet on a user creating their own key",
      normal: [rec({ eventName: "CreateAccessKey", userIdentity: iamUser("alice"), requestParameters: { userName: "alice" } })],
      expect: null,
    },
  ],
};
