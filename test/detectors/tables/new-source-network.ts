import { newSourceNetwork } from "../../../src/detectors/new-source-network.js";
import { assumedRole, iamUser } from "../../helpers/events.js";
import { callsFrom, nina, peopleHistory, peopleUsual, SSO_ROLE } from "./shared/people.js";
import { GEN_IPS } from "../../helpers/window.js";
import { MIN, rec, routine, W, HOUR, type Table } from "./runner.js";

const maria = iamUser("maria");
const history = routine({
  identity: maria,
  calls: [
    ["DescribeInstances", "ec2.amazonaws.com"],
    ["ListBuckets", "s3.amazonaws.com"],
  ],
  ip: GEN_IPS.parisOrange[0],
});
const usual = [0, 1, 2].map((i) => rec({ eventName: "DescribeInstances", userIdentity: maria, sourceIPAddress: GEN_IPS.parisOrange[0], time: W + 8 * HOUR + i * MIN }));

export const table: Table = {
  detector: newSourceNetwork,
  cases: [
    {
      name: "fires on a first call from a hosting network in another country, citing the calls from there only",
      history,
      normal: usual,
      anomalous: [0, 1, 2].map((i) =>
        rec({ eventName: "ListBuckets", eventSource: "s3.amazonaws.com", userIdentity: maria, sourceIPAddress: GEN_IPS.attackerVps, time: W + 15 * HOUR + i * MIN }),
      ),
      expect: "high",
    },
    { name: "stays quiet from the usual network", history, normal: usual, expect: null },
    // One baseline per person on a shared role.
    {
      name: "judges a person against their own baseline: nina (FR) from GB, where only sam works, is new to her but routine for the role (medium)",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: callsFrom(nina, GEN_IPS.londonHome, 0),
      expect: "medium",
    },
    {
      name: "a person from a country neither she nor the role ever used, on a hosting network, is high",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: callsFrom(nina, GEN_IPS.attackerVps, 0),
      expect: "high",
    },
    {
      name: "a session that names no person on the shared role is judged against the role's baseline",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: callsFrom(assumedRole(SSO_ROLE, "i-0abc12345678def0"), GEN_IPS.attackerVps, 0),
      expect: "high",
    },
    {
      name: "a session that names no person, from an address the role's people use, is silent (the role knows it)",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: callsFrom(assumedRole(SSO_ROLE, "i-0abc12345678def0"), GEN_IPS.londonHome, 0),
      expect: null,
    },
    {
      name: "travel fades: the same new country (BR) three days running, ordinary network, usual tools, MFA, is low",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: [0, 1, 2].flatMap((d) => callsFrom(nina, GEN_IPS.saoPaulo, d)),
      expect: "low",
    },
    {
      name: "travel fades only over days: the same new country on its first day is high",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: callsFrom(nina, GEN_IPS.saoPaulo, 0),
      expect: "high",
    },
    {
      name: "a new country seen once from a hosting network stays high even on a multi-day window",
      history: peopleHistory,
      normal: [...peopleUsual, ...[1, 2].flatMap((d) => callsFrom(nina, GEN_IPS.parisOrange[0], d))],
      anomalous: callsFrom(nina, GEN_IPS.attackerVps, 2),
      expect: "high",
    },
  ],
};
