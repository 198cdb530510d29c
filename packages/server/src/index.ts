/**
 * @latentkit/server — `latentkit serve` as a library: AUTOMATIC1111-compatible `/sdapi/v1`
 * endpoints, latentkit's own job endpoints with Server-Sent Events, a web page, and scale-out
 * to `latentkit worker`s through BullMQ on Redis.
 *
 * @packageDocumentation
 */
export { createServer, type ServerOptions, type LatentkitServer } from './create-server';
export { startQueueWorker, type QueueWorker, type QueueWorkerOptions } from './queue-worker';
export { GenerationRunner, type GenerationRunnerOptions, type RunCallbacks } from './generation-runner';
export { LocalBackend, type LocalBackendOptions } from './local-backend';
export { QueueBackend, redactUrl, type QueueBackendOptions } from './queue-backend';
export { failureOf, type GenerationBackend, type SubmitOptions } from './generation-backend';
export { JobTracker, isFinal, type JobRecord, type JobState, type JobEvent, type JobFailure } from './job-tracker';
export { infoString, type GenerationJob, type GenerationOutput, type GenerationTask, type JobProgress } from './generation-job';
export { generationBodySchema, jobFromBody, samplerOf, MAX_SEED, type GenerationBody, type JobContext } from './a1111-request';
export { a1111Samplers } from './a1111-routes';
export { RequestValidationError, HttpError, fromAjvErrors, fromInvalidArgument, type FieldError } from './request-errors';
export { RedisResultStore, FileResultStore, loadResult, type ResultStore, type ResultReference } from './result-store';
export { DEFAULT_QUEUE_NAME, cancelChannel, bullmqPriority } from './queue-names';
export { encodePng, decodeImage, type PixelImage } from './png-codec';
export { tokenChecker } from './authentication';
export { DEFAULT_LIMITS, TINY_MODEL_NAME, parseModelArgument, type RequestLimits, type ModelEntry } from './server-options';
