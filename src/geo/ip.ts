/**
 * Small, allocation-light IP parsers for the offline geo tables (numbers, not strings, so that a
 * range table can be binary-searched).
 */

/** `1.2.3.4` -> 16909060, or -1 when the string is not a dotted-quad IPv4 address. */
export function ipv4ToInt(s: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
      if (digits > 3 || part > 255) return -1;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return n * 256 + part;
}

/**
 * Parse an IPv6 address into four 32-bit words (most significant first), or null.
 * Accepts `::` compression and a trailing dotted IPv4 part (`::ffff:1.2.3.4`); zone ids (`%eth0`)
 * are ignored.
 */
export function ipv6ToWords(input: string): [number, number, number, number] | null {
  let s = input;
  const pct = s.indexOf("%");
  if (pct >= 0) s = s.slice(0, pct);
  if (s.length < 2 || !s.includes(":")) return null;
  const h = new Array<number>(8).fill(0);
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part.length === 0) return [];
    const out: number[] = [];
    const groups = part.split(":");
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes(".")) {
        const v4 = ipv4ToInt(g);
        if (v4 < 0) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
        continue;
      }
      if (g.length === 0 || g.length > 4 || !/^[0-9a-fA-F]+$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  if (dbl >= 0) {
    const head = parseGroups(s.slice(0, dbl));
    const tail = parseGroups(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return null;
    for (let i = 0; i < head.length; i++) h[i] = head[i]!;
    for (let i = 0; i < tail.length; i++) h[8 - tail.length + i] = tail[i]!;
  } else {
    const all = parseGroups(s);
    if (all?.length !== 8) return null;
    for (let i = 0; i < 8; i++) h[i] = all[i]!;
  }
  return [h[0]! * 65536 + h[1]!, h[2]! * 65536 + h[3]!, h[4]! * 65536 + h[5]!, h[6]! * 65536 + h[7]!];
}

/**
 * Is this IPv4 address (as an unsigned integer) private, reserved or otherwise not geolocatable?
 * Same ranges as the event normaliser's `classifySourceIp` (a test keeps them in step), without
 * string work: RFC 1918, loopback, "this network", link-local, carrier-grade NAT, the three
 * documentation nets, benchmarking, multicast and above.
 */
export function isNonPublicV4(n: number): boolean {
  const a = n >>> 24;
  const b = (n >>> 16) & 0xff;
  const c = (n >>> 8) & 0xff;
  return (
    a === 10 ||
    a === 127 ||
    a === 0 ||
    a >= 224 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 192 && b === 0 && c === 2) ||
    (a === 198 && (b === 18 || b === 19)) ||
    (a === 198 && b === 51 && c === 100) ||
    (a === 203 && b === 0 && c === 113)
  );
}
