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

/** The machine's busy and idle CPU seconds so far (all cores, from /proc/stat). */
export function machineSeconds(): { busy: number; idle: number } {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: idle and iowait are the idle ones.
  const idle = cpu[3]! + cpu[4]!;
  const busy = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - idle;
  return { busy: busy / TICKS, idle: idle / TICKS };
}
