// CPU seconds used by processes over a phase, from /proc (utime + stime), to attribute cost per job.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds a process (and its reaped children) has used so far, in user space and in the kernel. */
export function cpuSplit(pid: number): { user: number; kernel: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ").map(Number);
  // utime, stime, cutime, cstime are fields 14–17 of stat; after the ") " split they start at index 11.
  return { user: (fields[11]! + fields[13]!) / TICKS, kernel: (fields[12]! + fields[14]!) / TICKS };
}

/** CPU seconds a process (and its reaped children) has used so far. */
export function cpuSeconds(pid: number): number {
  const { user, kernel } = cpuSplit(pid);
  return user + kernel;
}

/**
 * The pid of the process listening on the port of `url` (the broker or Redis the benchmark uses),
 * or null. By port, not by name: the machine may run other agents' Redis and RabbitMQ.
 */
export function pidListeningOn(url: string): number | null {
  try {
    const out = execFileSync("ss", ["-Hltnp", `sport = :${new URL(url).port}`], { encoding: "utf8" });
    const pid = /pid=(\d+)/.exec(out)?.[1];
    return pid ? Number(pid) : null;
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

/** Processes whose CPU a phase is charged with, by role; null where the pid is unknown. */
export type Roles = Record<string, number | null | number[]>;

/** Starts a CPU meter over `roles`; `stop(jobs)` gives CPU ms per job for each role and the machine's idle %. */
export function cpuMeter(roles: Roles) {
  const pidsOf = (v: number | null | number[]) => (v === null ? [] : Array.isArray(v) ? v : [v]);
  const read = () =>
    Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, pidsOf(v).reduce((a, p) => a + cpuSeconds(p), 0)]));
  const before = read();
  const machine0 = machineSeconds();
  return {
    stop(jobs: number): { perJobMs: Record<string, number>; idlePct: number } {
      const after = read();
      const machine1 = machineSeconds();
      const idle = machine1.idle - machine0.idle;
      const busy = machine1.busy - machine0.busy;
      const perJobMs = Object.fromEntries(Object.keys(roles).map((k) => [k, ((after[k]! - before[k]!) * 1000) / jobs]));
      return { perJobMs, idlePct: (100 * idle) / (idle + busy) };
    },
  };
}
