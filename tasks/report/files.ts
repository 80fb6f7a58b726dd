import { randomBytes } from "node:crypto";
import { closeSync, fsync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { promisify } from "node:util";
import { readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";

/** The one name a job's PDF has: deterministic, so a redelivered job overwrites, never duplicates. */
export function reportFileName(jobid: string): string {
  return `iris-report-${jobid}.pdf`;
}

const fsyncAsync = promisify(fsync);

/** Reports on disk: atomic writes into RESULTS_DIR and the retention sweep. */
export interface ReportFiles {
  dir: string;
  /** Writes to a temp file, fsyncs, renames into place; returns the file name. */
  write(jobid: string, pdf: Buffer): Promise<string>;
  /** Removes a report (gone already is fine). */
  remove(fileName: string): Promise<void>;
  path(fileName: string): string;
  /** Deletes reports (and stray temp files) older than `maxAgeMs`; returns how many. */
  sweep(maxAgeMs: number, now?: number): Promise<number>;
}

/** ReportFiles rooted at `dir` (created when missing). */
export function createReportFiles(dir: string): ReportFiles {
  let ready = false;
  return {
    dir,
    path: (fileName) => join(dir, fileName),
    // Only the fsync (which waits for the disk) goes to the thread pool: this runs in the worker,
    // never on the web's request path, a report is ~10 kB, and five thread-pool hops (open,
    // write, fsync, close, rename) cost 0.55 ms a report here against 0.3 ms made directly.
    async write(jobid, pdf) {
      if (!ready) {
        mkdirSync(dir, { recursive: true });
        ready = true;
      }
      const name = reportFileName(jobid);
      const tmp = join(dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`);
      const fd = openSync(tmp, "w", 0o644);
      try {
        for (let off = 0; off < pdf.length;) off += writeSync(fd, pdf, off);
        await fsyncAsync(fd);
      } finally {
        closeSync(fd);
      }
      try {
        renameSync(tmp, join(dir, name));
      } catch (err) {
        try {
          unlinkSync(tmp);
        } catch {
          // Already gone.
        }
        throw err;
      }
      return name;
    },
    async remove(fileName) {
      await unlink(join(dir, fileName)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    },
    async sweep(maxAgeMs, now = Date.now()) {
      let removed = 0;
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        return 0;
      }
      for (const name of names) {
        if (!/^\.?iris-report-.*\.(pdf|tmp)$/.test(name)) continue;
        const file = join(dir, name);
        try {
          if (now - (await stat(file)).mtimeMs > maxAgeMs) {
            await unlink(file);
            removed++;
          }
        } catch {
          // Removed by another process's sweep meanwhile: fine.
        }
      }
      return removed;
    },
  };
}
