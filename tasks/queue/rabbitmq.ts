import { EventEmitter } from "node:events";
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, RecoveringChannelModel } from "amqplib";
import type { JobMessage } from "../contract.js";
import { QueueUnavailableError } from "../errors.js";
import { createAckBatcher, type AckBatcher } from "./ack-batcher.js";
import type { Consumer, Delivery, JobQueue, Outcome, QueueStats } from "./types.js";

/** Options for the RabbitMQ queue. The connection is made by the entry file, with amqplib's recovery on. */
export interface RabbitQueueOptions {
  connection: RecoveringChannelModel;
  /** Queue name; `.dlx` and `.dead` are derived from it. */
  queue?: string;
  /** x-delivery-limit: the broker's backstop against a job that kills its worker every time. */
  maxAttempts: number;
  /** How long a publisher waits for the broker's confirm before answering 503. */
  confirmTimeoutMs?: number;
  /**
   * Whether `connection` is connected when handed over. amqplib's connect() resolves once it is
   * (the default, true); with `recovery.waitForConnect: false` it resolves before the first
   * attempt, and the queue must answer "unavailable" until the first "connect" event (false).
   * Hand it over unconnected where you can: the queue learns which connection to close when a
   * consumer breaks on a live one from the "connect" events it sees.
   */
  startsConnected?: boolean;
}

/**
 * How long a publisher waits for the broker's confirm before the submission answers 503. A broker
 * on a busy host stalls now and then without being gone: with 4 workers on 2 cores a benchmark run
 * saw confirms held ~1.7 s (34 of 2,000 submissions refused at an 800 ms deadline, for jobs the
 * broker then took; every other run's slowest submission took under 0.2 s). 2 s rides that out
 * and is as long as a submission waits for a hung Redis (its 1.5 s command timeout plus the write).
 */
export const CONFIRM_TIMEOUT_MS = 2000;

/** Events: "error" is never emitted; "warn" (message, err) lets the entry file log. */
export type RabbitQueue = JobQueue & EventEmitter;

/**
 * JobQueue on RabbitMQ: a durable quorum queue with a delivery limit and a dead-letter queue,
 * persistent messages, publisher confirms, manual acks. Topology is asserted on every channel
 * the queue opens, so it is declared again after every reconnect.
 */
export function createRabbitQueue(opts: RabbitQueueOptions): RabbitQueue {
  const { connection } = opts;
  const queue = opts.queue ?? "iris.jobs";
  const dlx = `${queue}.dlx`;
  const dead = `${queue}.dead`;
  const confirmTimeoutMs = opts.confirmTimeoutMs ?? CONFIRM_TIMEOUT_MS;
  const events = new EventEmitter();
  let connected = opts.startsConnected ?? true;
  let closed = false;
  let publishChannel: Promise<ConfirmChannel> | null = null;

  /** The connection amqplib's recovery made last (null until the first "connect" this queue sees). */
  let current: ChannelModel | null = null;

  connection.on("disconnect", () => {
    connected = false;
    publishChannel = null;
  });
  connection.on("connect", (model: ChannelModel) => {
    connected = true;
    current = model;
  });

  async function assertTopology(ch: Channel): Promise<void> {
    await ch.assertExchange(dlx, "fanout", { durable: true });
    await ch.assertQueue(dead, { durable: true, arguments: { "x-queue-type": "quorum" } });
    await ch.bindQueue(dead, dlx, "");
    await ch.assertQueue(queue, {
      durable: true,
      arguments: {
        "x-queue-type": "quorum",
        "x-delivery-limit": opts.maxAttempts,
        "x-dead-letter-exchange": dlx,
      },
    });
  }

  function getPublishChannel(): Promise<ConfirmChannel> {
    if (!publishChannel) {
      const opening = (async () => {
        const ch = await connection.createConfirmChannel();
        ch.on("error", (err: Error) => events.emit("warn", "publish channel error", err));
        ch.on("close", () => {
          if (publishChannel === opening) publishChannel = null;
        });
        await assertTopology(ch);
        return ch;
      })();
      publishChannel = opening;
      opening.catch(() => {
        if (publishChannel === opening) publishChannel = null;
      });
    }
    return publishChannel;
  }

  /**
   * Fails fast: a web request must never hang on a broker that is away. `start` runs only while
   * connected: run before the first connection, it would open a channel that waits for one.
   */
  function withDeadline<T>(start: () => Promise<T>, what: string): Promise<T> {
    if (!connected || closed) return Promise.reject(new QueueUnavailableError());
    const work = start().catch((err) => {
      throw err instanceof QueueUnavailableError ? err : new QueueUnavailableError();
    });
    let timer: NodeJS.Timeout;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueueUnavailableError(`The job queue did not ${what} in time.`)), confirmTimeoutMs);
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  }

  async function publish(message: JobMessage): Promise<void> {
    const body = Buffer.from(JSON.stringify(message));
    await withDeadline(async () => {
      const opening = getPublishChannel();
      const ch = await opening;
      await new Promise<void>((resolve, reject) => {
        ch.sendToQueue(
          queue,
          body,
          { persistent: true, contentType: "application/json", messageId: message.jobid },
          (err) => {
            if (!err) return resolve();
            // A nack: the queue could not take it (no leader yet after a node was lost, say). The
            // next publish gets a fresh channel rather than one the queue may keep refusing.
            if (publishChannel === opening) {
              publishChannel = null;
              ch.close().catch(() => {});
            }
            reject(new QueueUnavailableError("The broker refused the job."));
          },
        );
      });
    }, "confirm the job");
  }

  async function stats(): Promise<QueueStats> {
    return withDeadline(async () => {
      const ch = await getPublishChannel();
      const { messageCount, consumerCount } = await ch.checkQueue(queue);
      return { messages: messageCount, consumers: consumerCount };
    }, "answer");
  }

  /**
   * Consumes with manual acks on a channel of its own. There is one recovery mechanism:
   * amqplib's connection recovery. The consumer is opened on every "connect" it reports, and
   * whatever breaks the consumer while the connection stays up (the channel closed by the
   * broker, a basic.cancel when the queue is deleted or its node restarts, a failure to open)
   * closes that connection, so the same recovery, with its backoff, brings everything back.
   * Deliveries in hand on a lost channel are redelivered by the broker.
   */
  async function consume(
    handler: (d: Delivery) => Promise<Outcome>,
    { concurrency }: { concurrency: number },
  ): Promise<Consumer> {
    let stopped = false;
    let channel: Channel | null = null;
    let consumerTag: string | null = null;
    let opening: Promise<void> | null = null;
    let opens = 0;
    const inFlight = new Set<Promise<void>>();

    /** The open channel's settling (ack-batcher.ts): acks ready in one turn go out as one where safe. */
    let acks: AckBatcher | null = null;

    const settle = (batcher: AckBatcher, msg: ConsumeMessage, outcome: Outcome) => {
      if (outcome === "ack") batcher.ack(msg);
      else batcher.nack(msg, outcome === "retry");
    };

    const onMessage = (batcher: AckBatcher, msg: ConsumeMessage) => {
      const count = Number(msg.properties.headers?.["x-delivery-count"] ?? 0);
      batcher.received(msg);
      const work = handler({ body: msg.content, attempt: count + 1 })
        .catch((err) => {
          events.emit("warn", "job handler threw; requeueing", err);
          return "retry" as Outcome;
        })
        .then((outcome) => settle(batcher, msg, outcome));
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    };

    /** Hands a consumer lost on a live connection to the connection's recovery. */
    const reconnect = (model: ChannelModel | null, why: string, err?: Error) => {
      if (stopped || closed) return;
      if (!model) {
        // Only when the queue was handed an already connected connection and it has not reconnected since.
        events.emit("warn", `${why}; consuming resumes after the connection's next reconnect`, err);
        return;
      }
      events.emit("warn", `${why}; reconnecting`, err);
      void model.close().catch(() => {});
    };

    /** Opens the consumer on the current connection; false if that failed. */
    const openOnce = async (model: ChannelModel | null): Promise<boolean> => {
      let ch: Channel | undefined;
      try {
        ch = await connection.createChannel();
        const opened = ch;
        opened.on("error", (err: Error) => events.emit("warn", "consumer channel error", err));
        opened.on("close", () => {
          if (channel !== opened) return;
          channel = null;
          consumerTag = null;
          // A dropped connection closes its channels before amqplib reports "disconnect": decide
          // once that has run. Then only a channel closed on a live connection is ours to report.
          queueMicrotask(() => {
            if (connected && current === model) reconnect(model, "consumer channel closed by the broker");
          });
        });
        await assertTopology(opened);
        await opened.prefetch(concurrency);
        // If the channel dies, the broker redelivers what it held: nothing left to settle.
        const batcher = createAckBatcher(opened, {
          onError: (err) => events.emit("warn", "could not settle a delivery (channel closed); it will be redelivered", err),
        });
        const reply = await opened.consume(
          queue,
          (msg) => {
            if (msg) onMessage(batcher, msg);
            else reconnect(model, "the broker cancelled the consumer (queue deleted or its node restarted)");
          },
          { noAck: false },
        );
        channel = opened;
        acks = batcher;
        consumerTag = reply.consumerTag;
        if (opens++ > 0) events.emit("info", "consumer re-established");
        return true;
      } catch (err) {
        if (ch) void ch.close().catch(() => {});
        if (!stopped && !closed && connected && current === model) reconnect(model, "consumer could not start", err as Error);
        return false;
      }
    };

    /** Runs on every "connect": opens the consumer unless it is open (or opening). */
    const resume = (): Promise<void> => {
      if (!opening) {
        opening = (async () => {
          while (!stopped && !closed && !channel && connected) {
            const model = current;
            if ((await openOnce(model)) || current === model) break;
            // A newer connection came while this attempt failed on the old one: open on it.
          }
        })().finally(() => (opening = null));
      }
      return opening;
    };
    const onConnect = () => void resume();
    connection.on("connect", onConnect);

    await resume();
    return {
      async stop() {
        stopped = true;
        connection.off("connect", onConnect);
        await opening;
        const ch = channel;
        if (ch && consumerTag) await ch.cancel(consumerTag).catch(() => {});
        await Promise.allSettled([...inFlight]);
        acks?.flush();
        channel = null;
        if (ch) await ch.close().catch(() => {});
      },
    };
  }

  return Object.assign(events, {
    publish,
    stats,
    consume,
    async close() {
      closed = true;
      const ch = publishChannel;
      publishChannel = null;
      if (ch) await ch.then((c) => c.close()).catch(() => {});
    },
  });
}
