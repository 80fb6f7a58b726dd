import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ConsumeMessage } from "amqplib";
import { createAckBatcher } from "../../tasks/queue/ack-batcher.js";

const msg = (tag: number) => ({ fields: { deliveryTag: tag } }) as unknown as ConsumeMessage;

/** A channel that records what was sent, and a flush the test runs by hand. */
function setup(opts: { failing?: boolean } = {}) {
  const sent: string[] = [];
  const errors: unknown[] = [];
  let pending: (() => void) | null = null;
  const channel = {
    ack(m: ConsumeMessage, allUpTo?: boolean) {
      if (opts.failing) throw new Error("Channel closed");
      sent.push(`ack ${m.fields.deliveryTag}${allUpTo ? " multiple" : ""}`);
    },
    nack(m: ConsumeMessage, _allUpTo?: boolean, requeue?: boolean) {
      if (opts.failing) throw new Error("Channel closed");
      sent.push(`nack ${m.fields.deliveryTag}${requeue ? " requeue" : ""}`);
    },
  };
  const batcher = createAckBatcher(channel, { onError: (e) => errors.push(e), schedule: (fn) => (pending = fn) });
  const turn = () => {
    const fn = pending;
    pending = null;
    fn?.();
  };
  return { sent, errors, batcher, turn, scheduled: () => pending !== null };
}

describe("ack batcher", () => {
  it("acks the lowest open deliveries, all ready in one turn, with one multiple ack", () => {
    const { sent, batcher, turn } = setup();
    for (const t of [1, 2, 3, 4]) batcher.received(msg(t));
    batcher.ack(msg(2));
    batcher.ack(msg(1));
    batcher.ack(msg(3));
    assert.deepEqual(sent, [], "nothing goes out before the turn ends");
    turn();
    assert.deepEqual(sent, ["ack 3 multiple"]);
    batcher.ack(msg(4));
    turn();
    assert.deepEqual(sent, ["ack 3 multiple", "ack 4"], "one ready delivery gets a plain ack");
  });

  it("never covers a delivery still running: acks above it go out one by one in the same turn", () => {
    const { sent, batcher, turn } = setup();
    for (const t of [1, 2, 3]) batcher.received(msg(t));
    batcher.ack(msg(2));
    batcher.ack(msg(3));
    turn();
    assert.deepEqual(sent, ["ack 2", "ack 3"]);
    batcher.nack(msg(1), true);
    assert.deepEqual(sent, ["ack 2", "ack 3", "nack 1 requeue"], "a nack goes out at once, after the acks it must not join");
  });

  it("a delivery nacked below no longer blocks a multiple ack above it", () => {
    const { sent, batcher, turn } = setup();
    for (const t of [5, 6, 7]) batcher.received(msg(t));
    batcher.nack(msg(5), false);
    batcher.ack(msg(6));
    batcher.ack(msg(7));
    turn();
    assert.deepEqual(sent, ["nack 5", "ack 7 multiple"]);
  });

  it("flush() sends what waits for the turn, for a consumer that is closing its channel", () => {
    const { sent, batcher, turn, scheduled } = setup();
    for (const t of [1, 2]) batcher.received(msg(t));
    batcher.ack(msg(1));
    batcher.ack(msg(2));
    assert.ok(scheduled());
    batcher.flush();
    assert.deepEqual(sent, ["ack 2 multiple"]);
    turn();
    assert.deepEqual(sent, ["ack 2 multiple"], "the scheduled turn has nothing left to send");
  });

  it("a closed channel is reported, not thrown: the broker redelivers", () => {
    const { errors, batcher, turn } = setup({ failing: true });
    batcher.received(msg(1));
    batcher.received(msg(2));
    batcher.ack(msg(1));
    assert.doesNotThrow(() => batcher.nack(msg(2), true));
    assert.doesNotThrow(turn);
    assert.equal(errors.length, 2);
  });
});
