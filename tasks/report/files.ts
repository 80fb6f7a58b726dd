import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";

/** The one name a job's PDF has: deterministic, so a redelivered job overwrites, never duplicates. */
export function reportFileName(jobid: string): string {
  return `iris-report-${jobid}.pdf`;
}

/** Reports on disk: atomic writes into RESULTS_DIR and the retention sweep. */
export interface ReportFiles {
  dir: string;
  /** Writes to a temp file, fsyncs, renames into place; returns the file name. */
  write(jobid: string, pdf: Buffer): Promise<string>;
  path(fileName: string): string;
  /** Deletes reports (and stray temp files) older than `maxAgeMs`; returns how many. */
  sweep(maxAgeMs: number, now?: number): Promise<number>;
}

/** ReportFiles rooted at `dir` (created when missing). */
export function createReportFiles(dir: string): ReportFiles {
  let ready: Promise<unknown> | null = null;
  const ensureDir = () => (ready ??= mkdir(dir, { recursive: true }));
  return {
    dir,
    path: (fileName) => join(dir, fileName),
    async write(jobid, pdf) {
      await ensureDir();
      const name = reportFileName(jobid);
      const tmp = join(dir, `.${name}.${randomBytes(6).toString("hex")}.tmp`);
      const handle = await open(tmp, "w", 0o644);
      try {
        await handle.writeFile(pdf);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await rename(tmp, join(dir, name));
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
      return name;
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
