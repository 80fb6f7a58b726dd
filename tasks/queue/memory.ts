import type { JobMessage } from "../contract.js";
import type { Consumer, Delivery, JobQueue, Outcome } from "./types.js";

/** In-memory JobQueue for the embedded `npm start` and fast tests. Same outcomes as RabbitMQ: ack, retry (requeue), dead. */
export function createMemoryQueue(opts: { maxAttempts: number }): JobQueue & { dead: Buffer[] } {
  const ready: Delivery[] = [];
  const dead: Buffer[] = [];
  const consumers = new Set<{ pump(): void }>();

  const enqueue = (d: Delivery) => {
    ready.push(d);
    for (const c of consumers) c.pump();
  };

  return {
    dead,
    async publish(message: JobMessage) {
      enqueue({ body: Buffer.from(JSON.stringify(message)), attempt: 1 });
    },
    async stats() {
      return { messages: ready.length, consumers: consumers.size };
    },
    async consume(handler, { concurrency }): Promise<Consumer> {
      const inFlight = new Set<Promise<void>>();
      let stopped = false;
      const consumer = {
        pump() {
          while (!stopped && inFlight.size < concurrency && ready.length > 0) {
            const delivery = ready.shift()!;
            const work = handler(delivery)
              .catch((): Outcome => "retry")
              .then((outcome) => {
                // Like the broker's x-delivery-limit: past the limit a retry is dead-lettered.
                if (outcome === "retry" && delivery.attempt <= opts.maxAttempts) {
                  ready.push({ body: delivery.body, attempt: delivery.attempt + 1 });
                } else if (outcome !== "ack") {
                  dead.push(delivery.body);
                }
              })
              .finally(() => {
                inFlight.delete(work);
                consumer.pump();
              });
            inFlight.add(work);
          }
        },
      };
      consumers.add(consumer);
      consumer.pump();
      return {
        async stop() {
          stopped = true;
          consumers.delete(consumer);
          await Promise.allSettled([...inFlight]);
        },
      };
    },
    async close() {
      consumers.clear();
    },
  };
}
