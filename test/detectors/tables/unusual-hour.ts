import { unusualHour } from "../../../src/detectors/unusual-hour.js";
import { assumedRole, iamUser } from "../../helpers/events.js";
import { GEN_IPS } from "../../helpers/window.js";
import { DAY, HOUR, MIN, rec, routine, W, type Rec, type Table } from "./runner.js";
import { nina, peopleHistory, peopleUsual, person, SSO_ROLE } from "./shared/people.js";

const maria = iamUser("maria");
const paris = GEN_IPS.parisOrange[0];
const calls: Array<[string, string]> = [
  ["DescribeInstances", "ec2.amazonaws.com"],
  ["ListBuckets", "s3.amazonaws.com"],
];
/** maria works 08:00-16:00 UTC every day for two weeks. */
const history = routine({ identity: maria, calls, ip: paris });
const usual = [0, 1, 2].map((i) => rec({ eventName: "DescribeInstances", userIdentity: maria, sourceIPAddress: paris, time: W + 9 * HOUR + i * MIN }));
const at = (who: Rec, hour: number, n = 5, ip: string = paris, day = 0) =>
  Array.from({ length: n }, (_, i) => rec({ eventName: "DescribeInstances", userIdentity: who, sourceIPAddress: ip, time: W + day * DAY + hour * HOUR + i * MIN }));

/** A CI role that runs at every hour. */
const ci = assumedRole("deploy", "ci-run");
const ciHistory = Array.from({ length: 14 * 24 }, (_, i) =>
  rec({ eventName: "DescribeInstances", userIdentity: ci, sourceIPAddress: GEN_IPS.azureRunners[0], time: W - 14 * DAY + i * HOUR + 7 * MIN }),
);

/** kim works days, and nights on call now and then (three nights in two weeks, 02:00-03:00). */
const kim = iamUser("kim");
const kimHistory = [
  ...routine({ identity: kim, calls, ip: paris }),
  ...[2, 6, 11].flatMap((d) =>
    Array.from({ length: 6 }, (_, i) => rec({ eventName: "DescribeInstances", userIdentity: kim, sourceIPAddress: paris, time: W - d * DAY + 2 * HOUR + i * 10 * MIN })),
  ),
];

export const table: Table = {
  detector: unusualHour,
  cases: [
    {
      name: "fires low on a person who always works 08-16 acting at 03:00, citing the 03:00 calls only",
      history,
      normal: usual,
      anomalous: at(maria, 3),
      expect: "low",
    },
    { name: "stays quiet in the person's usual hours", history, normal: [...usual, ...at(maria, 14)], expect: null },
    { name: "stays quiet an hour past the usual end of the day (within an hour of usual hours)", history, normal: [...usual, ...at(maria, 16)], expect: null },
    { name: "stays quiet on a single stray call at 03:00 (not a session of work)", history, normal: [...usual, ...at(maria, 3, 2)], expect: null },
    { name: "stays quiet for a CI role that runs at all hours", history: ciHistory, normal: at(ci, 3, 5, GEN_IPS.azureRunners[0]), expect: null },
    { name: "stays quiet for a night responder who sometimes works nights", history: kimHistory, normal: at(kim, 3), expect: null },
    {
      name: "stays quiet with too little history to know the hours (5 active days)",
      history: routine({ identity: maria, calls, ip: paris, days: 5, perDay: 20 }),
      normal: at(maria, 3),
      expect: null,
    },
    {
      name: "judges a person on a shared role against her own hours: nina (08-16) at 03:00 while sam works 09-17",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: at(nina, 3),
      expect: "low",
    },
    {
      name: "judges a person against her own hours, not the role's: another person working nights on the role does not make 03:00 usual for nina",
      history: [...peopleHistory, ...routine({ identity: person("ola@example.com"), calls, ip: GEN_IPS.londonHome, hour: 0 })],
      normal: peopleUsual,
      anomalous: at(nina, 3),
      expect: "low",
    },
    {
      name: "a session naming no person on the shared role is judged against the role's hours",
      history: peopleHistory,
      normal: peopleUsual,
      anomalous: at(assumedRole(SSO_ROLE, "i-0abc12345678def0"), 3),
      expect: "low",
    },
    {
      name: "stays quiet for hours spent in a new country (another time zone; the country is new-source-network's)",
      history: peopleHistory,
      normal: [...peopleUsual, ...at(nina, 2, 5, GEN_IPS.saoPaulo)],
      expect: null,
    },
  ],
};
