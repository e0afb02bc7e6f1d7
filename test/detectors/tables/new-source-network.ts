import { newSourceNetwork } from "../../../src/detectors/new-source-network.js";
import { iamUser } from "../../helpers/events.js";
import { GEN_IPS } from "../../helpers/window.js";
import { MIN, rec, routine, W, HOUR, type Table } from "./runner.js";

const maria = iamUser("maria");
const history = routine({ identity: maria, calls: [["DescribeInstances", "ec2.amazonaws.com"], ["ListBuckets", "s3.amazonaws.com"]], ip: GEN_IPS.parisOrange[0] });
const usual = [0, 1, 2].map((i) => rec({ eventName: "DescribeInstances", userIdentity: maria, sourceIPAddress: GEN_IPS.parisOrange[0], time: W + 8 * HOUR + i * MIN }));

export const table: Table = {
  detector: newSourceNetwork,
  cases: [
    {
      name: "fires on a first call from a hosting network in another country, citing the calls from there only",
      history,
      normal: usual,
      anomalous: [0, 1, 2].map((i) => rec({ eventName: "ListBuckets", eventSource: "s3.amazonaws.com", userIdentity: maria, sourceIPAddress: GEN_IPS.attackerVps, time: W + 15 * HOUR + i * MIN })),
      expect: "high",
    },
    { name: "stays quiet from the usual network", history, normal: usual, expect: null },
  ],
};
