/**
 * `--format json` written piece by piece: the same bytes as `JSON.stringify(report, null, 2) + "\n"`
 * without building that string (and its UTF-8 copy) whole: a report of thousands of findings is
 * tens of megabytes of text, made at the end of a scan whose memory is at its peak.
 */
import { open } from "node:fs/promises";

/** `JSON.stringify(value, null, 2)` nested `depth` levels deep (its lines indented by 2 * depth more). */
function nested(value: unknown, depth: number): string {
  const s = JSON.stringify(value, null, 2) ?? "null";
  // JSON strings never hold a raw line break: every "\n" is the layout's.
  return depth === 0 ? s : s.replaceAll("\n", "\n" + "  ".repeat(depth));
}

/**
 * The pieces of `JSON.stringify(value, null, 2) + "\n"` for an object whose array members are
 * written an element at a time (the others whole).
 */
export function* jsonPieces(value: Readonly<Record<string, unknown>>): Generator<string> {
  const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== "function" && typeof v !== "symbol");
  if (entries.length === 0) {
    yield "{}\n";
    return;
  }
  yield "{\n";
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i]!;
    const end = i < entries.length - 1 ? ",\n" : "\n";
    if (Array.isArray(v) && v.length > 0) {
      yield `  ${JSON.stringify(k)}: [\n`;
      for (let j = 0; j < v.length; j++) {
        const el: unknown = v[j];
        const item = el === undefined || typeof el === "function" || typeof el === "symbol" ? "null" : nested(el, 2);
        yield `    ${item}${j < v.length - 1 ? ",\n" : "\n"}`;
      }
      yield `  ]${end}`;
    } else yield `  ${JSON.stringify(k)}: ${nested(v, 1)}${end}`;
  }
  yield "}\n";
}

/** Writes the pieces to `path` (created or truncated) in writes of about `chunk` characters; returns the bytes written. */
export async function writePieces(path: string, pieces: Iterable<string>, chunk = 1 << 20): Promise<number> {
  const fh = await open(path, "w");
  let bytes = 0;
  try {
    let buf: string[] = [];
    let len = 0;
    const flush = async () => {
      const b = Buffer.from(buf.join(""), "utf8");
      buf = [];
      len = 0;
      bytes += b.length;
      await fh.write(b);
    };
    for (const p of pieces) {
      buf.push(p);
      len += p.length;
      if (len >= chunk) await flush();
    }
    if (len > 0) await flush();
  } finally {
    await fh.close();
  }
  return bytes;
}
