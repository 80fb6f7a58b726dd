// CPU seconds used by processes over a phase, from /proc (utime + stime), to attribute cost per job.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds a process (and its reaped children) has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime, stime, cutime, cstime are fields 14–17 of stat; after the ") " split they start at index 11.
  return fields.slice(11, 15).reduce((a, f) => a + Number(f), 0) / TICKS;
}

/** The pid of the first process whose command line matches `pattern` (e.g. the broker), or null. */
export function findPid(pattern: string): number | null {
  try {
    const out = execFileSync("pgrep", ["-f", "-o", pattern], { encoding: "utf8" }).trim();
    return out ? Number(out) : null;
  } catch {
    return null;
  }
}
