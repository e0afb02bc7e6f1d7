import { bulkSensitiveActions } from "../../../src/detectors/bulk-sensitive-actions.js";
import { assumedRole } from "../../helpers/events.js";
import { DAY, MIN, rec, routine, W, HOUR, type Rec, type Table } from "./runner.js";

const app = assumedRole("billing-app", "task-7");
const history = routine({
  identity: app,
  calls: [
    ["GetItem", "dynamodb.amazonaws.com"],
    ["PutItem", "dynamodb.amazonaws.com"],
  ],
  ip: "3.80.10.100",
});
const usual = [0, 1, 2].map((i) =>
  rec({ eventName: "GetItem", eventSource: "dynamodb.amazonaws.com", userIdentity: app, sourceIPAddress: "3.80.10.100", time: W + 9 * HOUR + i * MIN }),
);
const read = (secretId: string, t: number) => rec({ eventName: "GetSecretValue", userIdentity: app, requestParameters: { secretId }, sourceIPAddress: "3.80.10.100", time: t });

// Judged by distinct targets (issue 16): a busy function that reads one secret all day...
const busy = assumedRole("orders-api", "i-0a1b2c3d4e5f60718");
const busyHistory = routine({
  identity: busy,
  calls: [
    ["GetSecretValue", "secretsmanager.amazonaws.com"],
    ["GetItem", "dynamodb.amazonaws.com"],
  ],
  perDay: 400,
  ip: "3.80.10.100",
  extra: () => ({ requestParameters: { secretId: "orders/db" } }),
});
const busyRead = (secretId: string, t: number) =>
  rec({ eventName: "GetSecretValue", userIdentity: busy, requestParameters: { secretId }, sourceIPAddress: "3.80.10.100", time: t });
const busyUsual = Array.from({ length: 40 }, (_, i) => busyRead("orders/db", W + 8 * HOUR + i * MIN));
// ...a synchronisation job that reads the same 30 secrets every day...
const sync = assumedRole("secret-sync", "i-0fedcba9876543210");
const syncHistory = routine({
  identity: sync,
  calls: [["GetSecretValue", "secretsmanager.amazonaws.com"]],
  perDay: 30,
  ip: "3.80.10.101",
  extra: (i) => ({ requestParameters: { secretId: `shared/service-${i}` } }),
});
const syncRead = (secretId: string, t: number) =>
  rec({ eventName: "GetSecretValue", userIdentity: sync, requestParameters: { secretId }, sourceIPAddress: "3.80.10.101", time: t });
// ...and a rotation job that meets a dozen new secrets every day.
const rotor = assumedRole("cert-rotation", "i-0aaaabbbbccccdddd");
const rotorHistory: Rec[] = [];
for (let d = 14; d >= 1; d--)
  for (let i = 0; i < 12; i++)
    rotorHistory.push(
      rec({
        eventName: "GetSecretValue",
        userIdentity: rotor,
        requestParameters: { secretId: `certs/${d}/${i}` },
        sourceIPAddress: "3.80.10.102",
        time: W - d * DAY + 9 * HOUR + i * MIN,
      }),
    );
const rotorRead = (secretId: string, t: number) =>
  rec({ eventName: "GetSecretValue", userIdentity: rotor, requestParameters: { secretId }, sourceIPAddress: "3.80.10.102", time: t });

// KMS keys (issue 16: bulk reads of keys, by distinct keys): an application that decrypts under its
// one key all day...
const keyArn = (id: string) => `arn:aws:kms:us-east-1:111111111111:key/${id}`;
const decrypt = (who: Rec, key: string, t: number, extra: Record<string, unknown> = {}) =>
  rec({
    eventName: "Decrypt",
    eventSource: "kms.amazonaws.com",
    userIdentity: who,
    requestParameters: { encryptionAlgorithm: "SYMMETRIC_DEFAULT" },
    resources: [{ ARN: keyArn(key), accountId: "111111111111", type: "AWS::KMS::Key" }],
    sourceIPAddress: "3.80.10.100",
    time: t,
    ...extra,
  });
const keyApp = assumedRole("payments-api", "i-0123456789abcdef0");
const keyHistory = [
  ...routine({ identity: keyApp, calls: [["GetItem", "dynamodb.amazonaws.com"]], perDay: 100, ip: "3.80.10.100" }),
  ...Array.from({ length: 14 * 50 }, (_, i) => decrypt(keyApp, "payments-1", W - 14 * DAY + Math.floor(i / 50) * DAY + 8 * HOUR + (i % 50) * 5 * MIN)),
];
const keyUsual = Array.from({ length: 50 }, (_, i) => decrypt(keyApp, "payments-1", W + 8 * HOUR + i * MIN));
// ...and a multi-tenant service that meets a few new tenant keys every day.
const tenants = assumedRole("tenant-vault", "i-0fedcba9876543211");
const tenantHistory = Array.from({ length: 14 * 6 }, (_, i) =>
  decrypt(tenants, `tenant-${Math.floor(i / 6)}-${i % 6}`, W - 14 * DAY + Math.floor(i / 6) * DAY + 9 * HOUR + (i % 6) * MIN),
);

export const table: Table = {
  detector: bulkSensitiveActions,
  cases: [
    {
      name: "fires on 15 distinct secrets read within minutes by a role that never read secrets",
      history,
      normal: usual,
      anomalous: Array.from({ length: 15 }, (_, i) => read(`prod/secret-${i}`, W + 14 * HOUR + i * 20_000)),
      expect: "medium",
    },
    {
      name: "a busy function (400 calls a day on one secret) reading 30 distinct new secrets in a minute: medium, judged by targets not volume",
      history: busyHistory,
      normal: busyUsual,
      anomalous: Array.from({ length: 30 }, (_, i) => busyRead(`prod/service-${i}`, W + 15 * HOUR + i * 2000)),
      expect: "medium",
    },
    {
      name: "the busy function's own secret read 200 times is silent",
      history: busyHistory,
      normal: [...busyUsual, ...Array.from({ length: 200 }, (_, i) => busyRead("orders/db", W + 15 * HOUR + i * 1000))],
      expect: null,
    },
    {
      name: "a synchronisation job reading its usual 30 secrets is silent",
      history: syncHistory,
      normal: Array.from({ length: 30 }, (_, i) => syncRead(`shared/service-${i}`, W + 9 * HOUR + i * MIN)),
      expect: null,
    },
    {
      name: "the synchronisation job reading 15 secrets it never read is medium",
      history: syncHistory,
      normal: Array.from({ length: 30 }, (_, i) => syncRead(`shared/service-${i}`, W + 9 * HOUR + i * MIN)),
      anomalous: Array.from({ length: 15 }, (_, i) => syncRead(`prod/db-${i}`, W + 16 * HOUR + i * 5000)),
      expect: "medium",
    },
    {
      name: "a rotation job that meets a dozen new secrets a day is silent on fifteen new ones",
      history: rotorHistory,
      normal: Array.from({ length: 15 }, (_, i) => rotorRead(`certs/0/${i}`, W + 9 * HOUR + i * MIN)),
      expect: null,
    },
    {
      name: "an application that decrypts under its one key all day decrypting under 12 keys it never used: medium, judged by keys not volume",
      history: keyHistory,
      normal: keyUsual,
      anomalous: Array.from({ length: 12 }, (_, i) => decrypt(keyApp, `other-${i}`, W + 15 * HOUR + i * 3000)),
      expect: "medium",
    },
    {
      name: "the application's own key used 500 times is silent",
      history: keyHistory,
      normal: [...keyUsual, ...Array.from({ length: 500 }, (_, i) => decrypt(keyApp, "payments-1", W + 15 * HOUR + i * 1000))],
      expect: null,
    },
    {
      name: "decrypts an AWS service makes on the caller's behalf (S3 reading SSE-KMS objects under 12 keys) are not the caller's key reads",
      history: keyHistory,
      normal: [
        ...keyUsual,
        ...Array.from({ length: 12 }, (_, i) =>
          decrypt({ ...keyApp, invokedBy: "s3.amazonaws.com" }, `bucket-key-${i}`, W + 15 * HOUR + i * 3000, {
            sourceIPAddress: "s3.amazonaws.com",
            userAgent: "s3.amazonaws.com",
          }),
        ),
      ],
      expect: null,
    },
    {
      name: "a multi-tenant service that meets six new tenant keys a day is silent on ten new ones",
      history: tenantHistory,
      normal: Array.from({ length: 10 }, (_, i) => decrypt(tenants, `tenant-new-${i}`, W + 9 * HOUR + i * MIN)),
      expect: null,
    },
    {
      name: "an identity whose history of targets is full (300 kept) is not judged by targets: its rate of new keys cannot be told",
      history: Array.from({ length: 14 * 25 }, (_, i) => decrypt(tenants, `many-${i}`, W - 14 * DAY + Math.floor(i / 25) * DAY + 9 * HOUR + (i % 25) * MIN)),
      normal: Array.from({ length: 40 }, (_, i) => decrypt(tenants, `many-new-${i}`, W + 9 * HOUR + i * MIN)),
      expect: null,
    },
    {
      name: "keys named by keyId (GenerateDataKey) count the same: 12 new keys is medium",
      history: keyHistory,
      normal: keyUsual,
      anomalous: Array.from({ length: 12 }, (_, i) =>
        rec({
          eventName: "GenerateDataKey",
          eventSource: "kms.amazonaws.com",
          userIdentity: keyApp,
          requestParameters: { keyId: keyArn(`gdk-${i}`), keySpec: "AES_256" },
          sourceIPAddress: "3.80.10.100",
          time: W + 15 * HOUR + i * 3000,
        }),
      ),
      expect: "medium",
    },
    { name: "stays quiet on three secrets", history, normal: [...usual, ...[0, 1, 2].map((i) => read(`prod/secret-${i}`, W + 14 * HOUR + i * MIN))], expect: null },
  ],
};
