/** File-system helpers shared by the durable writes (durable-file.ts) and the writers' lock (lock.ts). */
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";

let tmpCounter = 0;

export function tmpNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${tmpCounter++}.tmp`);
}

/** fsync a directory so that renames and new entries in it survive a power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (e) {
    // Some platforms (Windows) cannot open or fsync a directory; nothing more can be done there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EPERM" && code !== "EINVAL" && code !== "EACCES") throw e;
  } finally {
    await fh?.close();
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
