/**
 * Security group and network ACL rules opened to the internet, as CloudTrail logs them (EC2's
 * `{"items": [...]}` lists, or the flat legacy form with `cidrIp` / `fromPort` at the top).
 */
import type { GeoInfo } from "../../geo/types.js";
import { get, isObj, list, num, str } from "./util.js";

const AMAZON_ORG = /amazon|aws/i;
/** Amazon's autonomous systems (EC2, global backbone, CloudFront, ...). */
const AMAZON_ASNS = new Set([16509, 14618, 8987, 7224, 10124, 17493, 38895, 39111, 62785, 58588, 135630, 19047, 9059, 16284]);

/**
 * A public address the geo data places outside AWS: a known network that is not Amazon's, or an
 * address in a country but in no announced network. Without geo data: false (say nothing).
 */
export function outsideAws(info: GeoInfo | undefined): boolean {
  if (!info) return false;
  if (info.asn !== undefined && AMAZON_ASNS.has(info.asn)) return false;
  if (info.asn === undefined && info.asOrg === undefined) return info.country !== undefined;
  return !AMAZON_ORG.test(info.asOrg ?? "");
}

const V4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const V6 = /^[0-9a-f:.]*:[0-9a-f:.]*$/i;

/**
 * A range that holds every address: judged by the prefix, not the text. `x.x.x.x/0` is the whole
 * IPv4 internet whatever the address written before it (`10.1.2.3/0` included), and any IPv6
 * address with `/0` (`::/0`, `2001:db8::/0`) the whole IPv6 internet.
 */
export function isWholeInternet(cidr: string | undefined): boolean {
  if (!cidr) return false;
  const c = cidr.trim();
  const slash = c.lastIndexOf("/");
  if (slash < 0) return false;
  const len = c.slice(slash + 1).trim();
  if (!/^\d{1,3}$/.test(len) || Number(len) !== 0) return false;
  const addr = c.slice(0, slash).trim();
  return V4.test(addr) || V6.test(addr);
}

/** Remote administration ports. */
export const ADMIN_PORTS: Record<number, string> = {
  22: "SSH",
  3389: "RDP",
  23: "Telnet",
  5985: "WinRM",
  5986: "WinRM",
  5900: "VNC",
  445: "SMB",
  135: "RPC",
  139: "NetBIOS",
  21: "FTP",
};
/** Databases, caches, queues and control planes that should never face the internet. */
export const DATA_PORTS: Record<number, string> = {
  3306: "MySQL",
  5432: "PostgreSQL",
  1433: "SQL Server",
  1521: "Oracle",
  27017: "MongoDB",
  6379: "Redis",
  9200: "Elasticsearch",
  9300: "Elasticsearch",
  11211: "Memcached",
  5984: "CouchDB",
  2375: "Docker API",
  2376: "Docker API",
  2379: "etcd",
  6443: "Kubernetes API",
  10250: "kubelet",
  9042: "Cassandra",
  8086: "InfluxDB",
  5601: "Kibana",
  9092: "Kafka",
};
const WEB_PORTS = new Set([80, 443]);

export interface OpenRule {
  cidr: string;
  protocol: string;
  from: number;
  to: number;
}

export function allPorts(r: OpenRule): boolean {
  return r.protocol === "-1" || r.protocol === "all" || (r.from <= 0 && r.to >= 65535) || (r.from === -1 && r.to === -1 && r.protocol !== "icmp" && r.protocol !== "1");
}

/** Named sensitive services the rule exposes (SSH, RDP, MySQL, ...), or `all ports`. */
export function exposedServices(r: OpenRule): string[] {
  if (allPorts(r)) return ["all ports"];
  const out: string[] = [];
  for (const [port, name] of [...Object.entries(ADMIN_PORTS), ...Object.entries(DATA_PORTS)]) {
    const n = Number(port);
    if (n >= r.from && n <= r.to) out.push(`${name} (${n})`);
  }
  return out;
}

export function onlyWeb(r: OpenRule): boolean {
  if (allPorts(r)) return false;
  for (let p = r.from; p <= r.to; p++) if (!WEB_PORTS.has(p)) return false;
  return true;
}

function portsOf(o: unknown): { from: number; to: number } {
  const from = num(get(o, "fromPort"));
  const to = num(get(o, "toPort"));
  return { from: from ?? -1, to: to ?? from ?? -1 };
}

/** Rules of an AuthorizeSecurityGroupIngress request that allow the whole internet (any `/0`, see isWholeInternet). */
export function openIngressRules(rp: Record<string, unknown> | null): OpenRule[] {
  if (!rp) return [];
  const out: OpenRule[] = [];
  const perms = list(get(rp, "ipPermissions")).filter(isObj);
  for (const perm of perms) {
    const protocol = str(get(perm, "ipProtocol")) ?? "-1";
    const { from, to } = portsOf(perm);
    const cidrs = [...list(get(perm, "ipRanges")).map((r) => str(get(r, "cidrIp"))), ...list(get(perm, "ipv6Ranges")).map((r) => str(get(r, "cidrIpv6")))];
    for (const c of cidrs) if (c && isWholeInternet(c)) out.push({ cidr: c, protocol, from, to });
  }
  // Legacy flat form: {"groupId", "ipProtocol", "fromPort", "toPort", "cidrIp"}.
  const flat = str(get(rp, "cidrIp")) ?? str(get(rp, "cidrIpv6"));
  if (flat && isWholeInternet(flat)) {
    const { from, to } = portsOf(rp);
    out.push({ cidr: flat, protocol: str(get(rp, "ipProtocol")) ?? "-1", from, to });
  }
  return out;
}

/** A CreateNetworkAclEntry / ReplaceNetworkAclEntry allowing inbound traffic from anywhere. */
export function openNaclEntry(rp: Record<string, unknown> | null): OpenRule | null {
  if (!rp) return null;
  const cidr = str(get(rp, "cidrBlock")) ?? str(get(rp, "ipv6CidrBlock"));
  if (!cidr || !isWholeInternet(cidr)) return null;
  if ((str(get(rp, "ruleAction")) ?? "").toLowerCase() !== "allow") return null;
  const egress = get(rp, "egress");
  if (egress === true || egress === "true") return null;
  const range = get(rp, "portRange");
  const from = num(get(range, "from"));
  const to = num(get(range, "to"));
  const protocol = str(get(rp, "aclProtocol")) ?? "-1";
  return { cidr, protocol, from: from ?? 0, to: to ?? from ?? 65535 };
}
