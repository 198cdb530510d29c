/** Names shared by the server and the workers of one queue. */

/** The default BullMQ queue name. */
export const DEFAULT_QUEUE_NAME = 'latentkit';

/** The Redis pub/sub channel on which the server asks workers to cancel a running job. */
export function cancelChannel(queueName: string): string {
  return `latentkit:${queueName}:cancel`;
}

/** latentkit's priority (0–1000, higher first) → BullMQ's (1 highest). Every job is prioritised so that order is by priority, then arrival. */
export function bullmqPriority(priority: number | undefined): number {
  return 1001 - Math.max(0, Math.min(1000, Math.round(priority ?? 0)));
}

/** The reason a worker aborts its jobs with when it shuts down and hands them back. */
export const SHUTDOWN_REASON = 'latentkit-worker-shutdown';

/** What a worker puts in `failedReason` for a bad argument, so the server can answer 422. */
export const INVALID_ARGUMENT_MARK = 'latentkit:invalid-argument:';

/** How long connecting to Redis may take before `serve --queue` or `worker` gives up (ms). */
export const CONNECT_TIMEOUT_MS = 15_000;

/** `promise`, or a rejection with `message` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
