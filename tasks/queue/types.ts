import type { JobMessage } from "../contract.js";

/** One delivery of a message to a consumer. */
export interface Delivery {
  body: Buffer;
  /** 1 on the first delivery, then 2, 3, … on redeliveries. */
  attempt: number;
}

/** What the consumer wants done with a delivery. */
export type Outcome = "ack" | "retry" | "dead";

/** A running consumer. */
export interface Consumer {
  /** Stops taking deliveries and waits for the ones in hand to settle. */
  stop(): Promise<void>;
}

/** Queue depth and consumers, for admission control and metrics. */
export interface QueueStats {
  messages: number;
  consumers: number;
}

/** The job queue. Implementations: rabbitmq.ts, memory.ts. */
export interface JobQueue {
  /** Resolves once the broker has confirmed the message; throws QueueUnavailableError otherwise. */
  publish(message: JobMessage): Promise<void>;
  /** Messages waiting (ready, not yet delivered) and consumers attached. */
  stats(): Promise<QueueStats>;
  /** Delivers messages to `handler`, at most `concurrency` at a time. */
  consume(handler: (delivery: Delivery) => Promise<Outcome>, opts: { concurrency: number }): Promise<Consumer>;
  close(): Promise<void>;
}
