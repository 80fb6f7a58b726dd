// Prints the top self-time entries of a .cpuprofile (node --cpu-prof), grouped by function and file.
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
const [file, limit = "25"] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byKey = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const node of profile.nodes) {
  const t = self.get(node.id) ?? 0;
  const url = node.callFrame.url.replace(/^file:\/\/.*?\/(node_modules|app|tasks)\//, "$1/");
  const key = `${node.callFrame.functionName || "(anonymous)"} ${url}:${node.callFrame.lineNumber + 1}`;
  byKey.set(key, (byKey.get(key) ?? 0) + t);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith("node:") ? "node:internal" : url.split("/")[0] || node.callFrame.functionName);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + t);
}
const show = (m: Map<string, number>, n: number) =>
  [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, t]) => `${((100 * t) / total).toFixed(1).padStart(5)}%  ${k}`).join("\n");
console.log(`total sampled ${(total / 1e6).toFixed(2)} s\n-- by package/file --\n${show(byPackage, 15)}\n-- by function --\n${show(byKey, Number(limit))}`);
