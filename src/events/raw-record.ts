import { z } from "zod";

/**
 * The boundary schema of a CloudTrail record: what trailhound requires of a record before it is
 * used. Unknown fields are allowed (AWS adds fields between eventVersions).
 *
 * `normalizeRecord` (./normalize.ts) implements exactly these checks by hand on the hot path (a full schema parse
 * per record would cost more than JSON.parse itself at a million events); `explainRecord` runs the
 * schema for error messages and tests assert that both agree.
 */
export const RawRecord = z.looseObject({
  eventID: z.string().min(1),
  eventTime: z.string().refine((s) => !Number.isNaN(Date.parse(s)), "not an ISO time"),
  eventName: z.string().min(1),
  eventSource: z.string().min(1),
  // Objects whose fields are read when they have the expected type and ignored otherwise.
  userIdentity: z.looseObject({}),
  awsRegion: z.unknown().optional(),
  sourceIPAddress: z.unknown().optional(),
  userAgent: z.unknown().optional(),
  errorCode: z.unknown().optional(),
  errorMessage: z.unknown().optional(),
  recipientAccountId: z.unknown().optional(),
  requestParameters: z.unknown().optional(),
  responseElements: z.unknown().optional(),
});
export type RawRecord = z.infer<typeof RawRecord>;

/** A human explanation of why a record does not match the boundary schema (for error messages). */
export function explainRecord(raw: unknown): string | undefined {
  const res = RawRecord.safeParse(raw);
  if (res.success) return undefined;
  return res.error.issues.map((i) => `${i.path.join(".") || "(record)"}: ${i.message}`).join("; ");
}
