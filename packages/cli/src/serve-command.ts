/**
 * `latentkit serve` and `latentkit worker`: the HTTP server of `@latentkit/server` (AUTOMATIC1111
 * API, SSE, web page) and its BullMQ workers. Both run until Ctrl-C or SIGTERM, then shut down
 * gracefully: the server stops taking requests, a worker finishes (or hands back) its jobs.
 */
import { parseArguments, type OptionSpecs } from './argument-parser';
import type { CliIo } from './cli-io';
import { ExitCode, type ExitCodeValue } from './exit-codes';
import { UsageError } from './usage-error';

type ServerModule = typeof import('@latentkit/server');

/** The environment variable `serve` reads the bearer token from when `--auth-token` is not given. */
export const AUTH_TOKEN_ENV = 'LATENTKIT_AUTH_TOKEN';

const COMMON: OptionSpecs = {
  model: { type: 'string', short: 'm', valueName: '<[name=]folder>', description: 'model folder (diffusers ONNX layout), named after its folder or name=; default: the bundled latentkit-tiny' },
  queueName: { type: 'string', valueName: '<name>', description: 'BullMQ queue name (default latentkit)' },
  resultsDir: { type: 'string', valueName: '<folder>', description: 'queue mode: results as PNG files in this folder shared by server and workers (default: in Redis)' },
  threads: { type: 'integer', min: 1, max: 1024, valueName: '<n>', description: 'CPU threads per ONNX session' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/**
 * The options of `serve`.
 *
 * @example
 * ```ts
 * parseArguments(['--port', '8080'], SERVE_OPTIONS, 'serve').values.port; // 8080
 * ```
 */
export const SERVE_OPTIONS: OptionSpecs = {
  port: { type: 'integer', short: 'p', min: 0, max: 65535, valueName: '<n>', description: 'TCP port (default 7860, as AUTOMATIC1111)' },
  host: { type: 'string', valueName: '<address>', description: 'address to listen on (default 127.0.0.1: this machine only)' },
  authToken: { type: 'string', valueName: '<token>', description: `require "Authorization: Bearer <token>" on every endpoint (default: $${AUTH_TOKEN_ENV})` },
  queue: { type: 'string', valueName: '<redis://…>', description: 'enqueue jobs in BullMQ on this Redis for `latentkit worker`s instead of running them here' },
  concurrency: { type: 'integer', min: 1, max: 64, valueName: '<n>', description: 'without --queue: jobs run at once in this process (default 1)' },
  maxSteps: { type: 'integer', min: 1, max: 10000, valueName: '<n>', description: 'most sampling steps per request (default 150)' },
  maxPixels: { type: 'integer', min: 64, valueName: '<n>', description: 'largest width × height (default 1048576)' },
  maxImages: { type: 'integer', min: 1, max: 1000, valueName: '<n>', description: 'most images per request, batch_size × n_iter (default 8)' },
  maxPromptLength: { type: 'integer', min: 1, valueName: '<n>', description: 'longest prompt in characters (default 2000)' },
  maxBodyMb: { type: 'number', min: 0.01, max: 1024, valueName: '<MiB>', description: 'largest request body (default 16)' },
  previewEvery: { type: 'integer', min: 0, max: 1000, valueName: '<n>', description: 'steps between live previews (default 1; 0: none)' },
  ...COMMON,
};

/** The options of `worker`. */
export const WORKER_OPTIONS: OptionSpecs = {
  queue: { type: 'string', valueName: '<redis://…>', description: 'the Redis of the BullMQ queue (required)' },
  concurrency: { type: 'integer', min: 1, max: 64, valueName: '<n>', description: 'jobs at once (default 1)' },
  resultTtl: { type: 'integer', min: 1, valueName: '<seconds>', description: 'how long results stay in Redis (default 3600)' },
  lockDuration: { type: 'integer', min: 1000, valueName: '<ms>', description: "a dead worker's job is retried elsewhere after about this long (default 30000)" },
  grace: { type: 'integer', min: 0, valueName: '<ms>', description: 'on shutdown, let running jobs finish this long, then hand them back (default 30000)' },
  ...COMMON,
};

function loadServer(): ServerModule {
  // Loaded on use: `latentkit generate` and `--help` start without fastify and BullMQ.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@latentkit/server') as ServerModule;
}

/** Resolves when Ctrl-C (io.signal) or SIGTERM arrives. */
function untilStopped(io: CliIo): Promise<string> {
  return new Promise((resolve) => {
    const onTerm = (): void => resolve('SIGTERM');
    process.once('SIGTERM', onTerm);
    if (io.signal?.aborted) resolve('SIGINT');
    io.signal?.addEventListener('abort', () => {
      process.off('SIGTERM', onTerm);
      resolve('SIGINT');
    });
  });
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/**
 * Runs `serve` until stopped.
 *
 * @example
 * ```ts
 * await serveCommand(['--port', '7860'], { stdout: process.stdout, stderr: process.stderr, signal });
 * ```
 */
export async function serveCommand(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  const { values, positionals } = parseArguments(argv, SERVE_OPTIONS, 'serve');
  if (values.help) return ExitCode.ok;
  if (positionals.length > 0) throw new UsageError(`serve takes no positional arguments, got '${positionals[0]}'`, 'serve');
  const server = loadServer();
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  const authToken = (values.authToken as string | undefined) ?? (process.env[AUTH_TOKEN_ENV] || undefined);
  const queueUrl = values.queue as string | undefined;
  if (values.concurrency !== undefined && queueUrl) throw new UsageError('--concurrency is for in-process jobs; with --queue, give it to each `latentkit worker`', 'serve');
  const models = values.model ? [server.parseModelArgument(values.model as string)] : undefined;
  const limits = {
    ...(values.maxSteps !== undefined && { maxSteps: values.maxSteps as number }),
    ...(values.maxPixels !== undefined && { maxPixels: values.maxPixels as number }),
    ...(values.maxImages !== undefined && { maxImages: values.maxImages as number }),
    ...(values.maxPromptLength !== undefined && { maxPromptLength: values.maxPromptLength as number }),
    ...(values.maxBodyMb !== undefined && { maxBodyBytes: Math.round((values.maxBodyMb as number) * 1024 * 1024) }),
  };
  const instance = await server.createServer({
    models,
    limits,
    authToken,
    queue: queueUrl ? { url: queueUrl, queueName: values.queueName as string | undefined, resultsFolder: values.resultsDir as string | undefined } : undefined,
    concurrency: values.concurrency as number | undefined,
    loadOptions: values.threads ? { sessionOptions: { threads: values.threads as number } } : undefined,
    previewEvery: values.previewEvery as number | undefined,
    logger: { level: 'warn' },
  });
  try {
    const address = await instance.listen({ port: (values.port as number | undefined) ?? 7860, host });
    io.stdout.write(`latentkit serve: listening on ${address} (${queueUrl ? `jobs queued on ${server.redactUrl(queueUrl)}` : 'jobs run in this process'}${authToken ? ', bearer token required' : ''})\n`);
    io.stdout.write(`  web page: ${address}/   A1111 API: ${address}/sdapi/v1/txt2img   docs: README of @latentkit/server\n`);
    if (!isLoopback(host) && !authToken) io.stderr.write(`latentkit serve: warning: listening on ${host} without --auth-token: anyone who can reach this address can use it\n`);
    const why = await untilStopped(io);
    io.stdout.write(`latentkit serve: ${why}, shutting down\n`);
  } finally {
    await instance.close();
  }
  return ExitCode.ok;
}

/**
 * Runs `worker` until stopped.
 *
 * @example
 * ```ts
 * await workerCommand(['--queue', 'redis://127.0.0.1:6379'], { stdout: process.stdout, stderr: process.stderr, signal });
 * ```
 */
export async function workerCommand(argv: readonly string[], io: CliIo): Promise<ExitCodeValue> {
  const { values, positionals } = parseArguments(argv, WORKER_OPTIONS, 'worker');
  if (values.help) return ExitCode.ok;
  if (positionals.length > 0) throw new UsageError(`worker takes no positional arguments, got '${positionals[0]}'`, 'worker');
  const url = values.queue as string | undefined;
  if (!url) throw new UsageError('worker needs --queue redis://host:port (the Redis `latentkit serve --queue` uses)', 'worker');
  const server = loadServer();
  const models = [values.model ? server.parseModelArgument(values.model as string) : { name: server.TINY_MODEL_NAME }];
  const worker = await server.startQueueWorker({
    url,
    queueName: values.queueName as string | undefined,
    models,
    concurrency: values.concurrency as number | undefined,
    resultsFolder: values.resultsDir as string | undefined,
    resultTtlSeconds: values.resultTtl as number | undefined,
    lockDurationMs: values.lockDuration as number | undefined,
    loadOptions: values.threads ? { sessionOptions: { threads: values.threads as number } } : undefined,
    log: (message, error) => io.stderr.write(`latentkit worker: ${message}${error instanceof Error ? `: ${error.message}` : ''}\n`),
  });
  io.stdout.write(`latentkit worker ${worker.name}: model '${models[0]!.name}' loaded, taking jobs from ${server.redactUrl(url)}\n`);
  const why = await untilStopped(io);
  io.stdout.write(`latentkit worker ${worker.name}: ${why}, finishing the running jobs\n`);
  await worker.close((values.grace as number | undefined) ?? 30_000);
  return ExitCode.ok;
}
