import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadAppConfig } from "../../app/config.js";
import { loadConfig, redisTarget } from "../../tasks/config.js";
import { ConfigError } from "../../tasks/errors.js";

describe("configuration", () => {
  it("has the SPEC's defaults", () => {
    const c = loadAppConfig({});
    assert.equal(c.PORT, 8080);
    assert.equal(c.RESULTS_DIR, "results_data");
    assert.equal(c.RESULT_TTL_SECONDS, 86400);
    assert.equal(c.MAX_BATCH_ROWS, 10000);
    assert.equal(c.RATE_LIMIT_PER_MINUTE, 0);
    assert.equal(c.DASHBOARD, false);
    assert.equal(c.IRIS_NAMESPACE, "iris");
    assert.equal(c.RABBITMQ_URL, undefined);
    assert.equal(loadConfig({}).WORKER_NICE, 10);
    assert.equal(loadConfig({}).WORKER_CONCURRENCY, 16);
    assert.equal(loadConfig({}).WORKER_BATCH_CONCURRENCY, 2);
    assert.ok(Object.isFrozen(c));
  });

  it("takes Redis from REDIS_URL or from sentinels, and waits for one replica only with sentinels", () => {
    assert.equal(redisTarget(loadConfig({})), null);
    assert.deepEqual(redisTarget(loadConfig({ REDIS_URL: "redis://r:6379" })), { url: "redis://r:6379", waitReplicas: 0 });
    const both = { REDIS_SENTINELS: "s1:26379, [::1]:26380", REDIS_SENTINEL_NAME: "iris" };
    assert.deepEqual(redisTarget(loadAppConfig({ ...both, REDIS_URL: "redis://:secret@ignored/2" })), {
      url: "redis://:secret@ignored/2",
      sentinels: [{ host: "s1", port: 26379 }, { host: "::1", port: 26380 }],
      sentinelName: "iris",
      waitReplicas: 1,
    });
    assert.equal(redisTarget(loadConfig({ ...both, REDIS_WAIT_REPLICAS: "0" }))?.waitReplicas, 0);
    assert.throws(() => loadConfig({ REDIS_SENTINELS: "s1:26379" }), /REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS/);
    assert.throws(() => loadAppConfig({ REDIS_SENTINEL_NAME: "iris" }), /REDIS_SENTINELS: is required with REDIS_SENTINEL_NAME/);
    assert.throws(() => loadConfig({ ...both, REDIS_SENTINELS: "s1" }), /REDIS_SENTINELS: "s1" must be host:port/);
    assert.throws(() => loadConfig({ ...both, REDIS_SENTINELS: "s1:99999" }), /must be host:port/);
    assert.throws(() => loadConfig({ REDIS_WAIT_REPLICAS: "-1" }), /REDIS_WAIT_REPLICAS: must be a whole number/);
  });

  it("names the bad variable and what it expects", () => {
    assert.throws(
      () => loadAppConfig({ PORT: "eighty" }),
      (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /PORT: must be a port number/);
        return true;
      },
    );
    assert.throws(() => loadConfig({ RABBITMQ_URL: "http://x" }), /RABBITMQ_URL: must be a RabbitMQ URL/);
    assert.throws(() => loadConfig({ REDIS_URL: "localhost:6379" }), /REDIS_URL: must be a Redis URL/);
    assert.throws(() => loadConfig({ WORKER_CONCURRENCY: "0" }), /WORKER_CONCURRENCY/);
    assert.throws(() => loadConfig({ WORKER_BATCH_CONCURRENCY: "two" }), /WORKER_BATCH_CONCURRENCY/);
    assert.throws(() => loadConfig({ WORKER_NICE: "20" }), /WORKER_NICE: must be a whole number from 0 to 19/);
    assert.throws(() => loadConfig({ WORKER_NICE: "-5" }), /WORKER_NICE: must be a whole number from 0 to 19/);
    assert.throws(() => loadAppConfig({ TRUST_PROXY: "yes" }), /TRUST_PROXY: must be 0 or 1/);
  });

  it("lists every bad variable at once", () => {
    assert.throws(
      () => loadAppConfig({ PORT: "0", LOG_LEVEL: "loud" }),
      (err: Error) => {
        assert.match(err.message, /PORT/);
        assert.match(err.message, /LOG_LEVEL/);
        return true;
      },
    );
  });

  it("parses REPORT_STORE: file by default, s3://BUCKET/PREFIX with the prefix ending in /", () => {
    assert.deepEqual(loadConfig({}).REPORT_STORE, { kind: "file" });
    assert.deepEqual(loadConfig({ REPORT_STORE: "s3://iris-reports" }).REPORT_STORE, { kind: "s3", bucket: "iris-reports", prefix: "" });
    assert.deepEqual(loadConfig({ REPORT_STORE: "s3://iris-reports/" }).REPORT_STORE, { kind: "s3", bucket: "iris-reports", prefix: "" });
    assert.deepEqual(loadConfig({ REPORT_STORE: "s3://b.example/prod/pdf" }).REPORT_STORE, {
      kind: "s3",
      bucket: "b.example",
      prefix: "prod/pdf/",
    });
    for (const bad of ["s3", "s3://", "s3://Upper/x", "s3://ab", "gs://bucket/x", "s3://bucket/x?y=1", "/var/reports"]) {
      assert.throws(() => loadConfig({ REPORT_STORE: bad }), /REPORT_STORE: must be file or s3:\/\/BUCKET\/PREFIX/, bad);
    }
    assert.equal(loadConfig({}).AWS_REGION, "us-east-1");
    assert.throws(() => loadConfig({ AWS_ENDPOINT_URL_S3: "127.0.0.1:9000" }), /AWS_ENDPOINT_URL_S3: must be a HTTP URL/);
    assert.throws(() => loadConfig({ AWS_ENDPOINT_URL: "minio:9000" }), /AWS_ENDPOINT_URL: must be a HTTP URL/);
    assert.throws(() => loadConfig({ AWS_REGION: "EU West" }), /AWS_REGION: must be a region name/);
  });

  it("parses API_TOKENS into a list", () => {
    assert.deepEqual(loadAppConfig({ API_TOKENS: "a, b,,c" }).API_TOKENS, ["a", "b", "c"]);
  });

  it("parses ALLOWED_ORIGINS into normalised origins, and names the variable for a bad one", () => {
    assert.deepEqual(loadAppConfig({}).ALLOWED_ORIGINS, []);
    assert.deepEqual(
      loadAppConfig({ ALLOWED_ORIGINS: "https://a.example, HTTP://B.example:8080,,https://c.example:443/" })
        .ALLOWED_ORIGINS,
      ["https://a.example", "http://b.example:8080", "https://c.example"],
    );
    for (const bad of [
      "a.example",
      "ftp://a.example",
      "https://a.example/path",
      "https://a.example?x=1",
      "https://user@a.example",
      "*",
    ]) {
      assert.throws(
        () => loadAppConfig({ ALLOWED_ORIGINS: `https://ok.example,${bad}` }),
        (err: Error) =>
          err instanceof ConfigError && /ALLOWED_ORIGINS: .*must be an http\(s\) origin/.test(err.message),
        bad,
      );
    }
  });
});
