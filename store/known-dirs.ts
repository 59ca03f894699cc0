/**
 * Directories this process has already made or found: a write into one of them skips its `mkdir`, which
 * otherwise costs a syscall (and, with `recursive`, a walk up the path) on every write. A directory that
 * disappears later is made again by the write that finds it missing (ENOENT), so nothing depends on the
 * cache being right.
 */
import { mkdir } from 'node:fs/promises';

export class KnownDirs {
  private readonly made = new Set<string>();

  /** Runs `write`, which creates a file in `dir`, with `dir` made first if this process has not made it yet. */
  async writeIn<T>(dir: string, write: () => Promise<T>): Promise<T> {
    if (!this.made.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.made.add(dir);
    }
    try {
      return await write();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dir, { recursive: true });
      return write();
    }
  }
}
