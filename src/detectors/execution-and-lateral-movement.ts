import type { Severity, TrailEvent } from "../events/types.js";
import { KNOWN_LAYER_PUBLISHERS, runInstancesRequest, SHELL_DOCUMENTS, ssmTargets, unusualType } from "./lib/compute.js";
import {
  accountOf,
  apiKey,
  draft,
  get,
  isAwsServiceCall,
  isHumanPrincipal,
  isIaC,
  list,
  lower,
  novelty,
  ownAccounts,
  q,
  re,
  rp,
  str,
  strings,
  who,
  params,
  type RuleHit,
} from "./lib/util.js";
import type { DetectorContext, EventDetector, FindingDraft } from "./types.js";

/**
 * Running code and reaching into instances: SSM commands and sessions, EC2 Instance Connect
 * and serial console keys, user-data rewrites, Lambda code/layer changes, SageMaker lifecycle
 * scripts, and unusual instance launches (GPU / accelerator families, large fleets).
 *
 * Ordinary work stays quiet: a known identity running its usual commands, CI roles deploying
 * Lambda code, and RunInstances of ordinary types are not findings. Fan-out across many targets
 * in one window is judged by `bulk-sensitive-actions`.
 */

export const FAN_OUT = 3;
export const MANY_INSTANCES = 10;

function layersOf(ev: TrailEvent): string[] {
  const fromReq = strings(rp(ev, "layers"));
  const fromResp = list(re(ev, "layers"))
    .map((l) => str(get(l, "arn")) ?? str(l) ?? "")
    .filter((s) => s.length > 0);
  return [...new Set([...fromReq, ...fromResp])];
}

function rule(ev: TrailEvent, ctx: DetectorContext): RuleHit | null {
  const nov = novelty(ctx, apiKey(ev));
  const human = isHumanPrincipal(ev.principal);
  const own = ownAccounts(ev, ctx);
  switch (ev.service + ":" + ev.eventName) {
    case "ssm:SendCommand": {
      const doc = str(rp(ev, "documentName")) ?? "?";
      const t = ssmTargets(params(ev));
      const n = t.instances.length;
      const fan = n >= FAN_OUT || t.byTag.length > 0;
      const shell = SHELL_DOCUMENTS.test(doc);
      let sev: Severity | null;
      if (nov.known) sev = n >= MANY_INSTANCES || t.byTag.length > 0 ? "low" : null;
      else if (nov.learned) sev = fan ? "high" : "medium";
      else sev = n >= MANY_INSTANCES ? "high" : fan ? "medium" : shell ? "low" : null;
      if (!sev) return null;
      const targets =
        t.byTag.length > 0
          ? `targets ${t.byTag.map((x) => q(x, 60)).join(", ")}`
          : `${n} instance${n === 1 ? "" : "s"} (${t.instances
              .slice(0, 5)
              .map((i) => q(i))
              .join(", ")}${n > 5 ? ", …" : ""})`;
      return {
        severity: sev,
        what: `ran SSM document ${q(doc)} on ${targets}`,
        target: doc,
        attack: ["T1651"],
        evidence: { document: doc, instances: t.instances.slice(0, 20), tagTargets: t.byTag },
      };
    }
    case "ssm:StartSession": {
      const target = str(rp(ev, "target")) ?? "?";
      const sev: Severity | null = nov.known ? null : nov.learned ? "medium" : "low";
      if (!sev) return null;
      return { severity: sev, what: `opened an interactive SSM session on ${q(target)}`, target: "session", attack: ["T1651", "T1021"] };
    }
    case "ec2-instance-connect:SendSSHPublicKey": {
      const inst = str(rp(ev, "instanceId")) ?? "?";
      const user = str(rp(ev, "instanceOSUser")) ?? "?";
      if (nov.known) return null;
      return {
        severity: "medium",
        what: `pushed a temporary SSH key for OS user ${q(user)} to instance ${q(inst)} with EC2 Instance Connect`,
        target: "instance-connect",
        attack: ["T1021.004", "T1098.004"],
      };
    }
    case "ec2-instance-connect:SendSerialConsoleSSHPublicKey": {
      const inst = str(rp(ev, "instanceId")) ?? "?";
      return { severity: nov.known ? "low" : "high", what: `pushed an SSH key to the serial console of instance ${q(inst)}`, target: "serial-console", attack: ["T1021.004"] };
    }
    case "ec2:EnableSerialConsoleAccess":
      return { severity: "high", what: "enabled EC2 serial console access for the account (out-of-band shell on every instance)", target: "serial-console", attack: ["T1021.004"] };
    case "ec2:ModifyInstanceAttribute": {
      const hasUserData = rp(ev, "userData") !== undefined || str(rp(ev, "attribute")) === "userData";
      if (!hasUserData) return null;
      const inst = str(rp(ev, "instanceId")) ?? "?";
      return {
        severity: nov.known ? "medium" : "high",
        what: `replaced the user data of instance ${q(inst)} (code that runs as root at the next start)`,
        target: inst,
        attack: ["T1059.009"],
      };
    }
    case "lambda:UpdateFunctionCode": {
      const fn = str(rp(ev, "functionName")) ?? "?";
      if (nov.known) return null;
      if (!nov.learned && !human) return null; // CI/CD roles deploy code all day: cold start says nothing
      return { severity: "medium", what: `replaced the code of Lambda function ${q(fn.split(":").pop() ?? fn)}`, target: fn, attack: ["T1525", "T1059"] };
    }
    case "lambda:UpdateFunctionConfiguration":
    case "lambda:CreateFunction": {
      const fn = str(rp(ev, "functionName")) ?? "?";
      const layers = layersOf(ev);
      const foreign = layers.filter((l) => {
        const a = accountOf(l);
        return a !== undefined && !own.has(a) && !KNOWN_LAYER_PUBLISHERS.has(a);
      });
      if (foreign.length > 0)
        return {
          severity: "high",
          what: `attached Lambda layer${foreign.length > 1 ? "s" : ""} from another account (${foreign.map((l) => q(l, 100)).join(", ")}) to function ${q(fn)}`,
          target: fn,
          attack: ["T1525", "T1546"],
          evidence: { layers },
        };
      if (ev.eventName === "UpdateFunctionConfiguration" && layers.length > 0 && human && !nov.known)
        return {
          severity: "low",
          what: `changed the layers of Lambda function ${q(fn)} (${layers
            .slice(0, 3)
            .map((l) => q(l, 100))
            .join(", ")})`,
          target: fn,
          attack: ["T1525"],
          evidence: { layers },
        };
      return null;
    }
    case "sagemaker:CreateNotebookInstanceLifecycleConfig":
    case "sagemaker:UpdateNotebookInstanceLifecycleConfig": {
      const name = str(rp(ev, "notebookInstanceLifecycleConfigName")) ?? "?";
      return {
        severity: nov.known ? "low" : "medium",
        what: `${ev.eventName.startsWith("Create") ? "created" : "rewrote"} SageMaker notebook lifecycle script ${q(name)} (runs as root on the notebook at every start)`,
        target: name,
        attack: ["T1059"],
      };
    }
    case "sagemaker:UpdateNotebookInstance": {
      const lc = str(rp(ev, "lifecycleConfigName"));
      if (!lc) return null;
      return {
        severity: nov.known ? "low" : "medium",
        what: `attached lifecycle script ${q(lc)} to SageMaker notebook ${q(str(rp(ev, "notebookInstanceName")) ?? "?")}`,
        target: lc,
        attack: ["T1059"],
      };
    }
    case "servicequotas:RequestServiceQuotaIncrease": {
      const svc = str(rp(ev, "serviceCode")) ?? "?";
      if (!/^(ec2|sagemaker|bedrock|lambda|ecs|batch)$/.test(svc) || nov.known) return null;
      const quota = str(rp(ev, "quotaCode")) ?? "?";
      return {
        severity: "medium",
        what: `requested a higher ${q(svc)} quota (${q(quota)} to ${q(str(rp(ev, "desiredValue")) ?? "?")}): attackers raise compute quotas before mining`,
        target: `${svc}:${quota}`,
        attack: ["T1496"],
      };
    }
    case "ec2:RunInstances": {
      const r = runInstancesRequest(params(ev));
      const odd = unusualType(r.type);
      const many = r.maxCount >= MANY_INSTANCES;
      if (!odd && !many) {
        if (nov.learned && !nov.known)
          return {
            severity: "low",
            what: `launched ${r.maxCount} ${q(r.type ?? "?")} instance${r.maxCount === 1 ? "" : "s"} for the first time`,
            target: r.type ?? "?",
            attack: ["T1578.002"],
          };
        return null;
      }
      let sev: Severity = odd && many ? "high" : "medium";
      if (nov.known && !(odd && many)) sev = "low";
      const parts = [odd, many ? `up to ${r.maxCount} instances in one call` : undefined].filter(Boolean);
      return {
        severity: sev,
        what: `launched ${q(r.type ?? "?")} instances (${parts.join("; ")})`,
        target: r.type ?? "?",
        attack: ["T1496", "T1578.002"],
        evidence: { instanceType: r.type, maxCount: r.maxCount, imageId: r.imageId },
      };
    }
    default:
      return null;
  }
}

export const executionAndLateralMovement: EventDetector = {
  kind: "event",
  id: "execution-and-lateral-movement",
  title: "Code execution or lateral movement in compute",
  description:
    "SSM commands and sessions, EC2 Instance Connect and serial-console keys, instance user-data rewrites, Lambda code or foreign layers, SageMaker lifecycle scripts, and unusual instance launches (GPU/accelerator families, ten or more instances in one call) from identities that do not normally do so.",
  severity: "medium",
  cites: "The single call that runs code or reaches into the instance, function or notebook.",
  attack: ["T1651", "T1059", "T1021"],
  investigate: [
    "What ran? SSM command output (GetCommandInvocation), the new user data or function code, the lifecycle script.",
    "Is the caller an operator or pipeline that normally does this? Check its source address and user agent.",
    "For unusual launches: who pays, what AMI, and is the instance mining (CPU/GPU use, outbound connections)?",
  ],
  falsePositives: [
    "Operators patching or debugging instances through SSM.",
    "New deployment pipelines and ML teams starting GPU training jobs.",
    "Developers editing Lambda code in the console.",
  ],
  eventNames: [
    "SendCommand",
    "StartSession",
    "SendSSHPublicKey",
    "SendSerialConsoleSSHPublicKey",
    "EnableSerialConsoleAccess",
    "ModifyInstanceAttribute",
    "UpdateFunctionCode",
    "UpdateFunctionConfiguration",
    "CreateFunction",
    "CreateNotebookInstanceLifecycleConfig",
    "UpdateNotebookInstanceLifecycleConfig",
    "UpdateNotebookInstance",
    "RunInstances",
    "RequestServiceQuotaIncrease",
  ],
  detect(ev: TrailEvent, ctx: DetectorContext): FindingDraft | null {
    const hit = rule(ev, ctx);
    if (!hit) return null;
    let sev = hit.severity;
    const notes: string[] = [];
    if (isAwsServiceCall(ev)) {
      sev = lower(sev);
      notes.push(`It was invoked by ${q(ev.principal.invokedBy ?? ev.principal.userName ?? "an AWS service")} on the identity's behalf.`);
    } else if (isIaC(ev) && ev.eventName !== "ModifyInstanceAttribute") {
      sev = lower(sev);
      notes.push("It came from infrastructure as code.");
    }
    const nov = novelty(ctx, apiKey(ev), `${ev.service}:${ev.eventName}`);
    const why = `${who(ev.principal)} ${hit.what}. ${notes.join(" ")} ${nov.text}`.replace(/\s+/g, " ").trim();
    return draft(ev, sev, why, [ev.eventName, hit.target], { ...(hit.attack ? { attack: hit.attack } : {}), evidence: hit.evidence ?? { target: hit.target } });
  },
};

export default executionAndLateralMovement;
