import net from "node:net";

export interface FlowUrlPolicy {
  allowedHosts: string[];
  allowLoopback: boolean;
}

/** Query parameters that are credentials in flow and function URLs. */
const SECRET_PARAMS = new Set(["sig", "code", "key", "token"]);

export type UrlCheck = { ok: true; url: URL } | { ok: false; message: string };

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost") return true;
  if (net.isIPv4(host)) return host.startsWith("127.");
  return host === "::1";
}

/** Private, link-local, unspecified, multicast or otherwise non-public literal addresses. */
export function isNonPublicAddress(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (net.isIPv4(host)) {
    const [a, b] = host.split(".").map(Number) as [number, number];
    return (
      a === 0 ||
      a === 10 ||
      a === 127 ||
      (a === 100 && b >= 64 && b <= 127) ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      a >= 224
    );
  }
  if (net.isIPv6(host))
    return (
      host === "::" ||
      host === "::1" ||
      /^f[cd]/.test(host) ||
      /^fe[89ab]/.test(host) ||
      host.startsWith("ff") ||
      host.startsWith("::ffff:")
    );
  return false;
}

/** A host name or pattern as compared: lower case, IPv6 literals without brackets, canonical. */
function comparableHost(host: string): string {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (!net.isIPv6(bare)) return bare;
  try {
    return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return bare;
  }
}

const HOST_LABEL = "[a-z0-9]([a-z0-9-]*[a-z0-9])?";
const HOST_NAME = new RegExp(`^${HOST_LABEL}(\\.${HOST_LABEL})*$`, "i");
const WILDCARD = new RegExp(`^\\*\\.${HOST_LABEL}(\\.${HOST_LABEL})+$`, "i");

/** An entry of RELAY_ALLOWED_FLOW_HOSTS: a host name, an IP literal, or `*.` and a domain. */
export function isHostPattern(entry: string): boolean {
  return (
    HOST_NAME.test(entry) || WILDCARD.test(entry) || net.isIPv6(entry.replace(/^\[(.*)\]$/, "$1"))
  );
}

/**
 * Whether a URL's host is one the operator allowed: a pattern is a host name (single labels such
 * as `localhost` included), an IP literal (`127.0.0.1`, `::1` or `[::1]`), or `*.` and a domain,
 * which matches any name below that domain (not the domain itself).
 */
export function hostMatches(hostname: string, patterns: string[]): boolean {
  const host = comparableHost(hostname);
  return patterns.some((pattern) => {
    if (!pattern.startsWith("*.")) return host === comparableHost(pattern);
    const suffix = pattern.slice(1).toLowerCase();
    return host.endsWith(suffix) && host.length > suffix.length;
  });
}

/** A URL the relay calls: https (http only to loopback when allowed), no credentials in it. */
export function checkServiceUrl(raw: string, allowLoopback: boolean): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: "must be an absolute URL" };
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.username || url.password) return { ok: false, message: "must not carry credentials" };
  if (loopback && !allowLoopback)
    return { ok: false, message: "must not point at a loopback address" };
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback && allowLoopback))
    return { ok: false, message: "must use https" };
  return { ok: true, url };
}

/**
 * A flow trigger URL: a service URL on a host the operator allowed. The allow-list applies to
 * loopback too: RELAY_ALLOW_LOOPBACK only lets through the loopback hosts the list names (and
 * plain http to them); other private or link-local addresses are never flows.
 */
export function checkFlowUrl(raw: string, policy: FlowUrlPolicy): UrlCheck {
  const check = checkServiceUrl(raw, policy.allowLoopback);
  if (!check.ok) return check;
  const { hostname } = check.url;
  if (!isLoopbackHost(hostname) && isNonPublicAddress(hostname))
    return { ok: false, message: "must not point at a private or link-local address" };
  if (!hostMatches(hostname, policy.allowedHosts))
    return { ok: false, message: `host ${hostname} is not in RELAY_ALLOWED_FLOW_HOSTS` };
  return check;
}

/** The URL with every credential-like query value replaced, safe for responses and logs. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    for (const name of [...url.searchParams.keys()])
      if (SECRET_PARAMS.has(name.toLowerCase())) url.searchParams.set(name, "REDACTED");
    return url.toString();
  } catch {
    return "(invalid URL)";
  }
}
