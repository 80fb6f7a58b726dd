// What the report write's fsync costs on this disk: 500 writes of a report-sized file, temp + rename
// alone, with fsync, with fdatasync (twice each, interleaved). DIR (the system's temp dir) picks the disk.
import { closeSync, fdatasyncSync, fsyncSync, mkdtempSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { percentile } from "./client.js";

const dir = mkdtempSync(join(process.env.DIR ?? tmpdir(), "fsync-probe-"));
const pdf = Buffer.alloc(10_500, 7);
for (const mode of ["none", "fsync", "fdatasync", "none", "fsync", "fdatasync"]) {
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < 500; i++) {
    const t = performance.now();
    const tmp = join(dir, `r${i}.tmp`);
    const fd = openSync(tmp, "w", 0o644);
    writeSync(fd, pdf);
    if (mode === "fsync") fsyncSync(fd);
    if (mode === "fdatasync") fdatasyncSync(fd);
    closeSync(fd);
    renameSync(tmp, join(dir, `r${i}.pdf`));
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `${mode}: p50 ${percentile(times, 50).toFixed(3)} ms, p95 ${percentile(times, 95).toFixed(3)} ms,`,
    `CPU ${((cpu.user + cpu.system) / 1000 / 500).toFixed(3)} ms a write`,
  );
}
rmSync(dir, { recursive: true });
