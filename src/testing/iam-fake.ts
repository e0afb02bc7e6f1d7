/**
 * A small IAM and STS stand-in speaking the AWS Query protocol (form-encoded POST, XML answers),
 * for tests (behind nock) and the containment bench (behind a local HTTP server). It keeps the
 * state containment changes: users' access keys and their status, inline policies, login
 * profiles and attached managed policies, and records every call with its request id.
 */

export interface FakeIamCall {
  action: string;
  params: Record<string, string>;
  requestId: string;
  status: number;
}

export interface FakeIamReply {
  status: number;
  body: string;
  headers: Record<string, string>;
}

const NS = "https://iam.amazonaws.com/doc/2010-05-08/";

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export class FakeIam {
  /** user -> key id -> status */
  readonly keys = new Map<string, Map<string, string>>();
  /** "user:alice" | "role:Deploy" -> inline policy name -> document */
  readonly inline = new Map<string, Map<string, string>>();
  readonly loginProfiles = new Set<string>();
  /** "user:alice" -> attached policy ARNs */
  readonly attached = new Map<string, Set<string>>();
  readonly calls: FakeIamCall[] = [];
  /** Make the next calls of this action fail with this error code (once each). */
  readonly failNext = new Map<string, string>();
  /** Called before each answer (the bench records when the key went inactive). */
  onCall?: (c: FakeIamCall) => void;
  #n = 0;

  addKey(user: string, id: string, status = "Active"): this {
    if (!this.keys.has(user)) this.keys.set(user, new Map());
    this.keys.get(user)!.set(id, status);
    return this;
  }

  keyStatus(user: string, id: string): string | undefined {
    return this.keys.get(user)?.get(id);
  }

  /** Answer one request body (form-encoded). */
  handle(body: string): FakeIamReply {
    const params = Object.fromEntries(new URLSearchParams(body)) as Record<string, string>;
    const action = params.Action ?? "";
    const requestId = `req-${action}-${++this.#n}`;
    const ok = (result = ""): FakeIamReply =>
      this.#reply(
        action,
        params,
        requestId,
        200,
        `<${action}Response xmlns="${NS}">${result ? `<${action}Result>${result}</${action}Result>` : ""}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
      );
    const err = (status: number, code: string, message: string): FakeIamReply =>
      this.#reply(
        action,
        params,
        requestId,
        status,
        `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    const forced = this.failNext.get(action);
    if (forced) {
      this.failNext.delete(action);
      return err(forced === "ServiceFailure" ? 500 : 400, forced, `forced ${forced}`);
    }
    const principal = params.UserName ? `user:${params.UserName}` : params.RoleName ? `role:${params.RoleName}` : params.GroupName ? `group:${params.GroupName}` : "";
    switch (action) {
      case "ListAccessKeys": {
        const ks = this.keys.get(params.UserName ?? "");
        if (!ks) return err(404, "NoSuchEntity", `The user with name ${params.UserName} cannot be found.`);
        const members = [...ks]
          .map(
            ([id, st]) =>
              `<member><UserName>${esc(params.UserName!)}</UserName><AccessKeyId>${id}</AccessKeyId><Status>${st}</Status><CreateDate>2026-01-01T00:00:00Z</CreateDate></member>`,
          )
          .join("");
        return ok(`<IsTruncated>false</IsTruncated><AccessKeyMetadata>${members}</AccessKeyMetadata>`);
      }
      case "UpdateAccessKey": {
        const ks = this.keys.get(params.UserName ?? "");
        if (!ks?.has(params.AccessKeyId ?? "")) return err(404, "NoSuchEntity", `The Access Key with id ${params.AccessKeyId} cannot be found.`);
        ks.set(params.AccessKeyId!, params.Status!);
        return ok();
      }
      case "PutUserPolicy":
      case "PutRolePolicy": {
        if (!this.inline.has(principal)) this.inline.set(principal, new Map());
        this.inline.get(principal)!.set(params.PolicyName!, params.PolicyDocument!);
        return ok();
      }
      case "DeleteUserPolicy":
      case "DeleteRolePolicy": {
        if (!this.inline.get(principal)?.delete(params.PolicyName!)) return err(404, "NoSuchEntity", `The policy ${params.PolicyName} cannot be found.`);
        return ok();
      }
      case "DeleteLoginProfile": {
        if (!this.loginProfiles.delete(params.UserName!)) return err(404, "NoSuchEntity", `Login Profile for User ${params.UserName} cannot be found.`);
        return ok();
      }
      case "DetachUserPolicy":
      case "DetachRolePolicy":
      case "DetachGroupPolicy": {
        if (!this.attached.get(principal)?.delete(params.PolicyArn!)) return err(404, "NoSuchEntity", `Policy ${params.PolicyArn} was not found.`);
        return ok();
      }
      default:
        return err(400, "InvalidAction", `Could not find operation ${action}`);
    }
  }

  #reply(action: string, params: Record<string, string>, requestId: string, status: number, body: string): FakeIamReply {
    const call = { action, params, requestId, status };
    this.calls.push(call);
    this.onCall?.(call);
    return { status, body, headers: { "content-type": "text/xml", "x-amzn-requestid": requestId } };
  }
}

/** STS: AssumeRole (any role) and GetCallerIdentity for `account`. */
export class FakeSts {
  readonly calls: Array<{ action: string; params: Record<string, string> }> = [];
  constructor(readonly account: string) {}

  handle(body: string): FakeIamReply {
    const params = Object.fromEntries(new URLSearchParams(body)) as Record<string, string>;
    const action = params.Action ?? "";
    this.calls.push({ action, params });
    const ns = "https://sts.amazonaws.com/doc/2011-06-15/";
    const rid = `sts-${this.calls.length}`;
    const headers = { "content-type": "text/xml", "x-amzn-requestid": rid };
    if (action === "AssumeRole") {
      const exp = new Date(Date.now() + 3600_000).toISOString();
      return {
        status: 200,
        headers,
        body: `<AssumeRoleResponse xmlns="${ns}"><AssumeRoleResult><Credentials><AccessKeyId>ASIAFAKEASSUMED00001</AccessKeyId><SecretAccessKey>fake-secret</SecretAccessKey><SessionToken>fake-token</SessionToken><Expiration>${exp}</Expiration></Credentials><AssumedRoleUser><Arn>${esc(params.RoleArn ?? "")}/${esc(params.RoleSessionName ?? "")}</Arn><AssumedRoleId>AROAFAKE:${esc(params.RoleSessionName ?? "")}</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>${rid}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
      };
    }
    if (action === "GetCallerIdentity") {
      return {
        status: 200,
        headers,
        body: `<GetCallerIdentityResponse xmlns="${ns}"><GetCallerIdentityResult><Arn>arn:aws:iam::${this.account}:user/trailhound</Arn><UserId>AIDAFAKE</UserId><Account>${this.account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${rid}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      };
    }
    return {
      status: 400,
      headers,
      body: `<ErrorResponse xmlns="${ns}"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unknown</Message></Error><RequestId>${rid}</RequestId></ErrorResponse>`,
    };
  }
}
