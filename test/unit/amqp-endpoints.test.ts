import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../tasks/config.js";
import { createEndpointRotation, endpointOf, splitAmqpUrls } from "../../tasks/queue/endpoints.js";

describe("RabbitMQ endpoints (RABBITMQ_URL listing a cluster's nodes)", () => {
  it("reads a URL as amqplib does: credentials, vhost, port, heartbeat", () => {
    assert.deepEqual(endpointOf("amqp://iris:p%40ss@rabbit-1:5673/prod%2Fa?heartbeat=30"), {
      protocol: "amqp",
      hostname: "rabbit-1",
      port: 5673,
      username: "iris",
      password: "p@ss",
      vhost: "prod/a",
      heartbeat: 30,
      frameMax: undefined,
      channelMax: undefined,
      locale: undefined,
    });
    const plain = endpointOf("amqps://[::1]");
    assert.equal(plain.protocol, "amqps");
    assert.equal(plain.hostname, "::1");
    assert.equal(plain.port, 5671);
    assert.equal(plain.username, "guest");
    assert.equal(plain.password, "guest");
    assert.equal(plain.vhost, "/");
    assert.equal(endpointOf("amqp://h/").vhost, "/");
  });

  it("moves the one endpoint object round the nodes", () => {
    const r = createEndpointRotation(splitAmqpUrls(" amqp://a:1 , amqp://b:2,amqp://c:3?heartbeat=5 "));
    const seen = [];
    for (let i = 0; i < 4; i++) {
      seen.push(`${r.endpoint.hostname}:${r.endpoint.port}:${r.endpoint.heartbeat ?? "-"}`);
      r.advance();
    }
    assert.deepEqual(seen, ["a:1:-", "b:2:-", "c:3:5", "a:1:-"]);
    assert.equal(r.current(), "amqp://b:2");
    const one = createEndpointRotation(["amqp://only"]);
    const same = one.endpoint;
    one.advance();
    assert.equal(one.endpoint, same);
    assert.equal(one.endpoint.hostname, "only");
  });

  it("accepts one URL or several, and names the variable for a bad one", () => {
    assert.equal(loadConfig({ RABBITMQ_URL: "amqp://a,amqp://b" }).RABBITMQ_URL, "amqp://a,amqp://b");
    assert.throws(() => loadConfig({ RABBITMQ_URL: "amqp://a,http://b" }), /RABBITMQ_URL: must be a RabbitMQ URL/);
    assert.throws(() => loadConfig({ RABBITMQ_URL: " , " }), /RABBITMQ_URL/);
  });
});
