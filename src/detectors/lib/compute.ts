/** EC2 instance types and SSM targets as they appear in CloudTrail requests. */
import { get, list, num, str, strings } from "./util.js";

/** GPU, ML accelerator, FPGA and memory-giant families: what cryptominers and LLM thieves launch. */
const UNUSUAL_FAMILY = /^(p\d|g\d|x\d|inf\d|trn\d|dl\d|f\d|vt\d|hpc\d|u-\d|p5|gr\d)/i;

export interface InstanceRequest {
  type?: string;
  maxCount: number;
  imageId?: string;
  profile?: string;
}

export function runInstancesRequest(rp: Record<string, unknown> | null): InstanceRequest {
  const type = str(get(rp, "instanceType"));
  const items = list(get(rp, "instancesSet"));
  let maxCount = 0;
  let imageId: string | undefined;
  for (const it of items) {
    maxCount += num(get(it, "maxCount")) ?? num(get(it, "minCount")) ?? 1;
    imageId ??= str(get(it, "imageId"));
  }
  if (items.length === 0) maxCount = num(get(rp, "maxCount")) ?? 1;
  const out: InstanceRequest = { maxCount };
  if (type) out.type = type;
  if (imageId) out.imageId = imageId;
  const prof = get(rp, "iamInstanceProfile");
  const pn = str(get(prof, "name")) ?? str(get(prof, "arn"));
  if (pn) out.profile = pn;
  return out;
}

/** Why an instance type is unusual, or undefined for ordinary types. */
export function unusualType(type: string | undefined): string | undefined {
  if (!type) return undefined;
  const [family = "", size = ""] = type.split(".");
  if (UNUSUAL_FAMILY.test(family)) return `${type} is a GPU/accelerator or memory-giant type`;
  const m = /^(\d+)xlarge$/.exec(size);
  if (m && Number(m[1]) >= 24) return `${type} is a very large size`;
  if (size === "metal" || size.startsWith("metal")) return `${type} is a bare-metal size`;
  return undefined;
}

/** SSM SendCommand targets: explicit instance ids, or tag/resource-group targets (fan-out of unknown size). */
export function ssmTargets(rp: Record<string, unknown> | null): { instances: string[]; byTag: string[] } {
  const instances = strings(get(rp, "instanceIds"));
  const byTag: string[] = [];
  for (const t of list(get(rp, "targets"))) {
    const k = str(get(t, "key")) ?? "";
    const vals = strings(get(t, "values"));
    if (k === "InstanceIds") instances.push(...vals);
    else byTag.push(`${k}=${vals.join(",")}`);
  }
  return { instances: [...new Set(instances)], byTag };
}

/** Documents that run arbitrary commands or scripts. */
export const SHELL_DOCUMENTS =
  /^(AWS-RunShellScript|AWS-RunPowerShellScript|AWS-RunRemoteScript|AWS-ApplyAnsiblePlaybooks|AWS-RunSaltState|AWS-InstallApplication|AWS-RunDocument|AWSFleetManager-|AWS-StartInteractiveCommand|AWS-StartNonInteractiveCommand)/;

/**
 * Accounts that publish widely used public Lambda layers and extensions (AWS's own and common
 * observability vendors). A layer from one of them is ordinary; from any other foreign account
 * it is code an outsider controls running inside the function.
 */
export const KNOWN_LAYER_PUBLISHERS: ReadonlyMap<string, string> = new Map([
  ["580247275435", "AWS (Lambda Insights)"],
  ["177933569100", "AWS (Parameters and Secrets extension)"],
  ["017000801446", "AWS (Powertools for Lambda)"],
  ["094274105915", "AWS (Powertools for Lambda)"],
  ["901920570463", "AWS (Distro for OpenTelemetry)"],
  ["027255383542", "AWS (AppConfig extension)"],
  ["464622532012", "Datadog"],
  ["451483290750", "New Relic"],
  ["114300393969", "Lumigo"],
  ["943013980633", "Sentry"],
  ["267093732750", "Elastic"],
  ["254067382080", "Splunk"],
]);
