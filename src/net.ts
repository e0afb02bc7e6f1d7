/**
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY (upper or lower case) for every AWS and Slack connection.
 *
 *  - Slack: the Web API client calls `fetch`, and Socket Mode opens an undici WebSocket. undici
 *    (Node's own HTTP client, maintained by the Node.js project) has `EnvHttpProxyAgent`, which reads
 *    these variables per request, NO_PROXY included: it becomes the global dispatcher (every
 *    `fetch`) and the Socket Mode connection's dispatcher (`slackDispatcher()`).
 *  - AWS: the SDK's Node handler opens `https.Agent`s; Node's built-in `proxyEnv` agent option
 *    (Node 24+; the image and CI run 26) does the same for them: `awsRequestHandler()`.
 * No proxy variable set: nothing changes (no dispatcher, no agent options).
 */
import { EnvHttpProxyAgent, setGlobalDispatcher, type Dispatcher } from "undici";

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
  return (dispatcher = new EnvHttpProxyAgent({
    ...(p.HTTP_PROXY ? { httpProxy: p.HTTP_PROXY } : {}),
    ...(p.HTTPS_PROXY ? { httpsProxy: p.HTTPS_PROXY } : {}),
    ...(p.NO_PROXY ? { noProxy: p.NO_PROXY } : {}),
  }));
}

/** Route every `fetch` of this process (the Slack Web API client's) through the proxy, if one is set. */
export function installProxyFromEnv(env: Record<string, string | undefined> = process.env): boolean {
  const d = slackDispatcher(env);
  if (d) setGlobalDispatcher(d);
  return d !== undefined;
}

/**
 * The `requestHandler` option of an AWS SDK client: `extra` plus, when a proxy is set, agents that
 * go through it (Node's `proxyEnv`, which honours NO_PROXY: `.amazonaws.com` for a domain).
 */
export function awsRequestHandler<T extends object>(extra: T = {} as T, env: Record<string, string | undefined> = process.env): T & { httpsAgent?: object; httpAgent?: object } {
  const p = proxySettings(env);
  if (!p) return extra;
  return { ...extra, httpsAgent: { keepAlive: true, proxyEnv: p }, httpAgent: { keepAlive: true, proxyEnv: p } };
}
