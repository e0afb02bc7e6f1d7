/**
 * deploy/member-role.cfn.yaml, the member-account reader role for a CloudFormation StackSet
 * (issue 21): read as CloudFormation YAML (short-form intrinsic functions as tags) and checked for
 * what makes it deployable and right: every !Ref and !GetAtt resolves, the trust policy names the
 * bot's role with the ExternalId condition, the ExternalId parameter accepts exactly what STS and
 * trailhound accept, the role allows exactly the calls the reader makes, and its session is long
 * enough for trailhound's AssumeRole. Where cfn-lint (AWS's template linter) is installed, it runs
 * on the template too.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, type ScalarTag } from "yaml";
import { externalIdProblem, roleArnFromTemplate } from "../../src/sources/org.js";

const PATH = "deploy/member-role.cfn.yaml";

type Intrinsic = { Ref: string } | { "Fn::GetAtt": string[] } | { "Fn::Sub": string };
const tags: ScalarTag[] = [
  { tag: "!Ref", resolve: (v: string) => ({ Ref: v }) },
  { tag: "!GetAtt", resolve: (v: string) => ({ "Fn::GetAtt": v.split(".") }) },
  { tag: "!Sub", resolve: (v: string) => ({ "Fn::Sub": v }) },
];

interface Template {
  AWSTemplateFormatVersion: string;
  Parameters: Record<string, { Type: string; Default?: string; MinLength?: number; MaxLength?: number; AllowedPattern?: string }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: Intrinsic }>;
}

const template = parse(readFileSync(PATH, "utf8"), { customTags: tags }) as Template;

/** Every intrinsic function object anywhere in the template. */
function intrinsics(v: unknown, out: Intrinsic[] = []): Intrinsic[] {
  if (Array.isArray(v)) for (const x of v) intrinsics(x, out);
  else if (v && typeof v === "object") {
    if ("Ref" in v || "Fn::GetAtt" in v || "Fn::Sub" in v) out.push(v as Intrinsic);
    else for (const x of Object.values(v)) intrinsics(x, out);
  }
  return out;
}

describe("the member-account role template", () => {
  const role = template.Resources.TrailhoundRead!;
  const props = role.Properties as {
    RoleName: Intrinsic;
    MaxSessionDuration: number;
    AssumeRolePolicyDocument: { Version: string; Statement: Array<Record<string, unknown>> };
    Policies: Array<{ PolicyName: string; PolicyDocument: { Version: string; Statement: Array<{ Effect: string; Action: string | string[]; Resource: string }> } }>;
  };

  it("is a CloudFormation template whose references all resolve", () => {
    expect(template.AWSTemplateFormatVersion).toBe("2010-09-09");
    expect(role.Type).toBe("AWS::IAM::Role");
    const names = new Set([...Object.keys(template.Parameters), ...Object.keys(template.Resources), "AWS::AccountId", "AWS::Region", "AWS::Partition"]);
    const found = intrinsics(template);
    expect(found.length).toBeGreaterThan(3);
    for (const f of found) {
      if ("Ref" in f) expect(names.has(f.Ref), `!Ref ${f.Ref}`).toBe(true);
      if ("Fn::GetAtt" in f) {
        expect(Object.keys(template.Resources)).toContain(f["Fn::GetAtt"][0]);
        expect(f["Fn::GetAtt"][1]).toBe("Arn");
      }
    }
    for (const [name, p] of Object.entries(template.Parameters)) expect(["String", "Number"], name).toContain(p.Type);
    expect(template.Outputs?.RoleArn?.Value).toEqual({ "Fn::GetAtt": ["TrailhoundRead", "Arn"] });
  });

  it("is assumable only by the bot's role with the ExternalId, for as long as trailhound asks (3600 s)", () => {
    expect(props.AssumeRolePolicyDocument.Version).toBe("2012-10-17");
    expect(props.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { AWS: { Ref: "TrailhoundPrincipalArn" } },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": { Ref: "ExternalId" } } },
      },
    ]);
    expect(props.MaxSessionDuration).toBeGreaterThanOrEqual(3600);
    // The default role name is the one the documented template names.
    expect(props.RoleName).toEqual({ Ref: "RoleName" });
    expect(roleArnFromTemplate(`arn:aws:iam::{account}:role/${template.Parameters.RoleName!.Default}`, "111122223333")).toBe("arn:aws:iam::111122223333:role/TrailhoundRead");
  });

  it("takes exactly the ExternalIds that trailhound (and STS) accept", () => {
    const p = template.Parameters.ExternalId!;
    // CloudFormation matches AllowedPattern against the whole value.
    const re = new RegExp(`^(?:${p.AllowedPattern})$`);
    const accepts = (v: string) => re.test(v) && v.length >= p.MinLength! && v.length <= p.MaxLength!;
    for (const v of ["th-7f3c", "a=b,c.d@e:f/g_h+i", "xy", "x".repeat(1224), "x", "x".repeat(1225), "with space", "semi;colon", "quote'", "é"]) {
      expect(accepts(v), JSON.stringify(v)).toBe(externalIdProblem(v) === undefined);
    }
  });

  it("allows the reader's calls and nothing else", () => {
    const statements = props.Policies.flatMap((p) => p.PolicyDocument.Statement);
    for (const p of props.Policies) expect(p.PolicyDocument.Version).toBe("2012-10-17");
    expect(statements.every((s) => s.Effect === "Allow" && s.Resource === "*")).toBe(true);
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual(["account:ListRegions", "cloudtrail:LookupEvents"]);
  });

  // cfn-lint starts slowly (16 s at load 25): in the slow suite.
  it("passes cfn-lint (where installed)", { tags: ["slow"], timeout: 120_000 }, (ctx) => {
    if (spawnSync("cfn-lint", ["--version"], { encoding: "utf8", timeout: 60_000 }).status !== 0) ctx.skip("cfn-lint is not installed");
    const r = spawnSync("cfn-lint", [PATH], { encoding: "utf8", timeout: 60_000 });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
