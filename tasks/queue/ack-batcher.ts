import type { Channel, ConsumeMessage } from "amqplib";

/**
 * Settles one consumer channel's deliveries, sending the acks that are ready in the same turn of
 * the event loop as one `basic.ack` with `multiple` where that is safe.
 *
 * `ack(msg, true)` acknowledges every delivery on the channel up to msg's tag that the broker
 * still counts as unsettled. So a multiple ack may only cover a run of the lowest open tags that
 * are all to be acknowledged: a job still running (or one being retried, whose nack went out on
 * its own) below it would be acknowledged with it and lost. The rest go out one by one, in the
 * same flush: no ack waits for a slower job, and the prefetch window frees as soon as it would
 * without batching.
 *
 * Delivery tags on a channel rise in the order the broker delivers, so the open ones, kept in
 * delivery order, are in tag order.
 */
export interface AckBatcher {
  /** A delivery arrived on the channel. */
  received(msg: ConsumeMessage): void;
  /** Acknowledge it, with the others ready in this turn. */
  ack(msg: ConsumeMessage): void;
  /** Reject it now (requeue or dead-letter): never batched, rare. */
  nack(msg: ConsumeMessage, requeue: boolean): void;
  /** Sends the acks waiting for this turn's flush (before the channel closes). */
  flush(): void;
}

export function createAckBatcher(
  channel: Pick<Channel, "ack" | "nack">,
  opts: { onError?: (err: unknown) => void; schedule?: (fn: () => void) => void } = {},
): AckBatcher {
  const schedule = opts.schedule ?? ((fn) => void setImmediate(fn));
  const onError = opts.onError ?? (() => {});
  /** Delivered and not yet settled with the broker, in delivery (= tag) order. */
  const open = new Map<number, ConsumeMessage>();
  /** Tags whose ack waits for the flush. */
  const ready = new Set<number>();
  let scheduled = false;

  const send = (fn: () => void) => {
    // The channel may have closed meanwhile: the broker then redelivers, nothing to settle here.
    try {
      fn();
    } catch (err) {
      onError(err);
    }
  };

  function flush(): void {
    scheduled = false;
    if (ready.size === 0) return;
    let last: ConsumeMessage | null = null;
    const covered: number[] = [];
    for (const [tag, msg] of open) {
      if (!ready.has(tag)) break;
      last = msg;
      covered.push(tag);
    }
    if (last && covered.length > 1) {
      const upTo = last;
      send(() => channel.ack(upTo, true));
      for (const tag of covered) {
        open.delete(tag);
        ready.delete(tag);
      }
    }
    for (const tag of ready) {
      const msg = open.get(tag)!;
      open.delete(tag);
      send(() => channel.ack(msg));
    }
    ready.clear();
  }

  return {
    received(msg) {
      open.set(msg.fields.deliveryTag, msg);
    },
    ack(msg) {
      const tag = msg.fields.deliveryTag;
      if (!open.has(tag)) return send(() => channel.ack(msg));
      ready.add(tag);
      if (!scheduled) {
        scheduled = true;
        schedule(flush);
      }
    },
    nack(msg, requeue) {
      open.delete(msg.fields.deliveryTag);
      send(() => channel.nack(msg, false, requeue));
    },
    flush,
  };
}
