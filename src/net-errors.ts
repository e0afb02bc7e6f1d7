/**
 * Expected failures of the network, told so a person can act: no network, DNS failure, a proxy
 * that refuses, an endpoint that is down, STS unreachable. `networkProblem(err)` looks through the
 * error and its causes (`cause`, the Slack SDK's `original`, AggregateError's `errors`) and returns
 * one line naming what failed and the setting to check, or undefined when it is not such a failure
 * (the CLI then treats it as unexpected).
 */

interface Netty {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  hostname?: unknown;
  host?: unknown;
  address?: unknown;
  port?: unknown;
  syscall?: unknown;
  cause?: unknown;
  original?: unknown;
  errors?: unknown;
  $metadata?: { httpStatusCode?: number };
  $fault?: unknown;
}

/** The error and everything it wraps, outermost first (bounded, cycle-safe). */
function chain(err: unknown): Netty[] {
  const out: Netty[] = [];
  const seen = new Set<unknown>();
  const todo: unknown[] = [err];
  while (todo.length && out.length < 20) {
    const e = todo.shift();
    if (typeof e !== "object" || e === null || seen.has(e)) continue;
    seen.add(e);
    const n = e as Netty;
    out.push(n);
    todo.push(n.cause, n.original);
    if (Array.isArray(n.errors)) todo.push(...n.errors);
  }
  return out;
}

const str = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");

function proxyInUse(env: Record<string, string | undefined>): string | undefined {
  return env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy || undefined;
}

/** Whether `host` is the proxy's (a refusal there is the proxy's; elsewhere, a NO_PROXY host's). */
function isProxyHost(host: string, proxy: string): boolean {
  try {
    const h = new URL(proxy).hostname.replace(/^\[|\]$/g, "");
    return host === "" || host === h || (h === "localhost" && (host === "127.0.0.1" || host === "::1"));
  } catch {
    return true;
  }
}

/** The settings that choose an endpoint, for the service a host belongs to. */
function endpointSettings(host: string, kind: "dns" | "url"): string {
  const slack = /(^|\.)slack(-edge)?\.com$/i.test(host);
  const aws = /amazonaws\.com(\.cn)?$/i.test(host);
  if (kind === "dns") {
    if (slack) return "SLACK_API_URL if set";
    if (aws) return "the region (AWS_REGION, --regions, --profile) or AWS_ENDPOINT_URL if set";
    return "the region (AWS_REGION, --regions, --profile), AWS_ENDPOINT_URL / SLACK_API_URL if set";
  }
  if (slack) return "SLACK_API_URL if set";
  if (aws) return "AWS_ENDPOINT_URL if set";
  return "AWS_ENDPOINT_URL / SLACK_API_URL if set";
}

/** "HTTP/1.1 403 Forbidden" out of a proxy's refusal, else the message's first line. */
function proxyAnswer(msg: string): string {
  return /HTTP\/\d(?:\.\d)? \d{3}[^\n)]*/.exec(msg)?.[0]?.trim() ?? msg.split("\n")[0] ?? "";
}

export function networkProblem(err: unknown, env: Record<string, string | undefined> = process.env): string | undefined {
  const all = chain(err);
  const proxy = proxyInUse(env);
  const proxyHint = proxy ? `the proxy HTTPS_PROXY=${proxy} (and NO_PROXY)` : "HTTPS_PROXY if this network needs a proxy";
  // Node's own proxy codes first, wherever they are in the chain (outer messages repeat them).
  const tunnel = all.find((e) => str(e.code) === "ERR_PROXY_TUNNEL" || str(e.code) === "ERR_PROXY_INVALID_CONFIG");
  if (tunnel) return `the proxy refused the connection (${proxyAnswer(str(tunnel.message))}): check ${proxyHint}`;
  for (const e of all) {
    const code = str(e.code);
    const host = str(e.hostname) || str(e.host) || str(e.address);
    const where = host ? `${host}${str(e.port) ? `:${str(e.port)}` : ""}` : "the endpoint";
    const msg = str(e.message);
    if (/proxy/i.test(msg) && /refused|tunnel|407|authentication/i.test(msg)) {
      return `the proxy refused the connection (${proxyAnswer(msg)}): check ${proxyHint}`;
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
      return `cannot resolve ${host || "the endpoint's name"} (DNS ${code}): no network or no DNS here; check the network, ${endpointSettings(host, "dns")}, or ${proxyHint}`;
    }
    if (code === "ECONNREFUSED") {
      return proxy && isProxyHost(host, proxy)
        ? `the proxy at ${where} refused the connection (ECONNREFUSED): check HTTPS_PROXY=${proxy}`
        : `${where} refused the connection (ECONNREFUSED): the endpoint is down or unreachable from here; check ${endpointSettings(host, "url")}, or ${proxyHint}`;
    }
    if (["ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "ECONNRESET", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET"].includes(code) || e.name === "TimeoutError") {
      return `no answer from ${where} (${code || "timeout"}): no network route from here; check the network or firewall, or ${proxyHint}`;
    }
  }
  for (const e of all) {
    const status = e.$metadata?.httpStatusCode;
    if (status !== undefined && status >= 500) {
      return `the AWS endpoint is down or failing (HTTP ${status} ${str(e.name)}): try again later; the AWS Health Dashboard says whether the service has an outage`;
    }
  }
  return undefined;
}
