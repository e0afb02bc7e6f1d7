import { resourceExposure } from "../../../src/detectors/resource-exposure.js";
import { rec, type Table } from "./runner.js";

const ingress = (cidr: string, port: number, v6 = false) =>
  rec({
    eventName: "AuthorizeSecurityGroupIngress",
    requestParameters: {
      groupId: "sg-1",
      ipPermissions: {
        items: [{ ipProtocol: "tcp", fromPort: port, toPort: port, ...(v6 ? { ipv6Ranges: { items: [{ cidrIpv6: cidr }] } } : { ipRanges: { items: [{ cidrIp: cidr }] } }) }],
      },
    },
  });

export const table: Table = {
  detector: resourceExposure,
  cases: [
    { name: "fires on SSH opened to 0.0.0.0/0", anomalous: [ingress("0.0.0.0/0", 22)], expect: "high" },
    { name: "fires on SSH opened to 10.1.2.3/0 (a /0 is the whole internet whatever the address)", anomalous: [ingress("10.1.2.3/0", 22)], expect: "high" },
    { name: "fires on SSH opened to ::/0", anomalous: [ingress("::/0", 22, true)], expect: "high" },
    { name: "fires on SSH opened to 2001:db8::/0", anomalous: [ingress("2001:db8::/0", 22, true)], expect: "high" },
    {
      name: "fires on a bucket policy granting everyone read",
      anomalous: [
        rec({
          eventName: "PutBucketPolicy",
          requestParameters: { bucketName: "b", bucketPolicy: { Statement: [{ Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }] } },
        }),
      ],
      expect: "high",
    },
    { name: "stays quiet on SSH opened to the office range", normal: [ingress("198.51.100.0/24", 22)], expect: null },
    { name: "stays quiet on SSH opened to a /32 whose text contains 0.0.0.0", normal: [ingress("10.0.0.0/32", 22)], expect: null },
  ],
};
