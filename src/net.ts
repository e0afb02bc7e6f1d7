/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY (upper or lower case) for every AWS and Slack connection.
 *
 *  - Slack: the Web API client calls `fetch`, and Socket Mode opens an undici WebSocket. undici
 *    (Node's own HTTP client, maintained by the Node.js project) has `EnvHttpProxyAgent`, which reads
 *    these variables per request, NO_PROXY included: it becomes the global dispatcher (every
 *    `fetch`) and the Socket Mode connection's dispatcher (`slackDispatcher()`).
 *  - AWS: the SDK's Node handler opens `https.Agent`s; Node's built-in `proxyEnv` agent option
 *    does the same for them: `awsRequestHandler()`. It came in Node 22.21 and 24.5, hence
 *    `engines` `^22.21.0 || >=24.5.0` (the image and CI run 26); on an older Node a proxy setting
 *    is refused with that said, rather than ignored. `awsConnection()` also gives the SDK's default
 *    credential chain that handler for its own calls (SSO's GetRoleCredentials; a profile's
 *    `role_arn` and web identity AssumeRole): without it SSO would go around the proxy.
 * No proxy variable set: nothing changes (no dispatcher, no agent options, the SDK's own chain).
 */
import { createRequire } from "node:module";
import type { Dispatcher } from "undici";

// Loaded when a proxy is set (both are CommonJS): a scan of local files never loads them.
const require = createRequire(import.meta.url);
const undici = (): typeof import("undici") => require("undici");
const credentialProviderNode = (): typeof import("@aws-sdk/credential-provider-node") => require("@aws-sdk/credential-provider-node");

const NAMES = ["HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY"] as const;

/** The proxy variables, upper-case names, or undefined when no proxy is set. */
export function proxySettings(env: Record<string, string | undefined> = process.env): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const n of NAMES) {
    const v = env[n] || env[n.toLowerCase()];
    if (v) out[n] = v;
  }
  return out.HTTPS_PROXY || out.HTTP_PROXY ? out : undefined;
}

let dispatcher: Dispatcher | undefined;
let dispatcherFor: string | undefined;

/** The dispatcher for Slack connections when a proxy is set (one per settings). */
export function slackDispatcher(env: Record<string, string | undefined> = process.env): Dispatcher | undefined {
  const p = proxySettings(env);
  if (!p) return undefined;
  const key = JSON.stringify(p);
  if (dispatcher && dispatcherFor === key) return dispatcher;
  dispatcherFor = key;
  return (dispatcher = new (undici().EnvHttpProxyAgent)({
    ...(p.HTTP_PROXY ? { httpProxy: p.HTTP_PROXY } : {}),
    ...(p.HTTPS_PROXY ? { httpsProxy: p.HTTPS_PROXY } : {}),
    ...(p.NO_PROXY ? { noProxy: p.NO_PROXY } : {}),
  }));
}

/** Route every `fetch` of this process (the Slack Web API client's) through the proxy, if one is set. */
export function installProxyFromEnv(env: Record<string, string | undefined> = process.env): boolean {
  const d = slackDispatcher(env);
  if (d) undici().setGlobalDispatcher(d);
  return d !== undefined;
}

/**
 * The `requestHandler` option of an AWS SDK client: `extra` plus, when a proxy is set, agents that
 * go through it (Node's `proxyEnv`, which honours NO_PROXY: `.amazonaws.com` for a domain).
 */
export function awsRequestHandler<T extends object>(extra: T = {} as T, env: Record<string, string | undefined> = process.env): T & { httpsAgent?: object; httpAgent?: object } {
  const p = proxySettings(env);
  if (!p) return extra;
  const why = proxyUnsupported();
  if (why) throw Object.assign(new Error(why), { code: "config" });
  return { ...extra, httpsAgent: { keepAlive: true, proxyEnv: p }, httpAgent: { keepAlive: true, proxyEnv: p } };
}

/** Why this Node cannot honour a proxy for AWS (no `proxyEnv` agent option), or undefined. */
export function proxyUnsupported(version: string = process.versions.node): string | undefined {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  const ok = (major === 22 && minor >= 21) || (major === 24 && minor >= 5) || major >= 25;
  return ok
    ? undefined
    : `HTTPS_PROXY is set but Node ${version} cannot send AWS requests through a proxy (its http.Agent has no proxyEnv option): use Node 22.21 or later 22.x, or 24.5 or later (trailhound is built and tested on 26)`;
}

type Credentials = () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>;

/**
 * An AWS SDK client's connection settings: `requestHandler` (through the proxy when one is set),
 * and `credentials` or `profile` as given. With a proxy and no explicit credentials, the default
 * credential chain (for `profile`) is built here with the same handler, so that its own calls go
 * through the proxy too.
 */
export function awsConnection<T extends object>(
  o: { credentials?: Credentials | undefined; profile?: string | undefined; handler?: T },
  env: Record<string, string | undefined> = process.env,
): { requestHandler: T & { httpsAgent?: object; httpAgent?: object }; credentials?: Credentials; profile?: string } {
  const requestHandler = awsRequestHandler(o.handler ?? ({} as T), env);
  if (o.credentials) return { requestHandler, credentials: o.credentials };
  const profile = o.profile ? { profile: o.profile } : {};
  if (!proxySettings(env)) return { requestHandler, ...profile };
  return { requestHandler, ...profile, credentials: credentialProviderNode().defaultProvider({ ...profile, clientConfig: { requestHandler } }) };
}
