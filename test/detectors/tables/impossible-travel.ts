import { impossibleTravel } from "../../../src/detectors/impossible-travel.js";
import { iamUser } from "../../helpers/events.js";
import { GEN_IPS } from "../../helpers/window.js";
import { MIN, rec, routine, W, HOUR, type Table } from "./runner.js";

const maria = iamUser("maria");
const history = routine({ identity: maria, calls: ["DescribeInstances"], ip: GEN_IPS.parisOrange[0] });
const paris = (t: number) => rec({ eventName: "DescribeInstances", userIdentity: maria, sourceIPAddress: GEN_IPS.parisOrange[0], time: t });

export const table: Table = {
  detector: impossibleTravel,
  cases: [
    {
      name: "fires on Paris then Sao Paulo 20 minutes later, citing the two ends of the hop",
      history,
      normal: [paris(W + 8 * HOUR)],
      anomalous: [paris(W + 10 * HOUR), rec({ eventName: "DescribeInstances", userIdentity: maria, sourceIPAddress: GEN_IPS.saoPaulo, time: W + 10 * HOUR + 20 * MIN })],
      expect: "high",
    },
    {
      name: "stays quiet on Paris then Lyon hours later",
      history,
      normal: [paris(W + 8 * HOUR), rec({ eventName: "DescribeInstances", userIdentity: maria, sourceIPAddress: GEN_IPS.lyonOrange, time: W + 14 * HOUR })],
      expect: null,
    },
  ],
};
