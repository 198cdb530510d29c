/**
 * `createServer()`: the fastify application of `latentkit serve` — the A1111 endpoints, the
 * latentkit endpoints with Server-Sent Events, the web page at `/` — over an in-process backend
 * or a BullMQ queue. Safe by default: it listens on 127.0.0.1, checks a bearer token on every
 * route when one is set, bounds every request, runs only configured models, and never puts a
 * stack trace in a response.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '@latentkit/core';
import type { PipelineLoadOptions } from '@latentkit/pipeline';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { JobContext } from './a1111-request';
import { registerA1111Routes } from './a1111-routes';
import { tokenChecker } from './authentication';
import type { GenerationBackend } from './generation-backend';
import { GenerationRunner } from './generation-runner';
import { JobTracker } from './job-tracker';
import { LocalBackend } from './local-backend';
import { registerNativeRoutes } from './native-routes';
import { QueueBackend } from './queue-backend';
import { HttpError, RequestValidationError, fromAjvErrors, fromPipelineError } from './request-errors';
import { DEFAULT_LIMITS, TINY_MODEL_NAME, type ModelEntry, type RequestLimits } from './server-options';

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The models clients may name (default: the bundled latentkit-tiny); the first is the default. */
  readonly models?: readonly ModelEntry[];
  readonly limits?: Partial<RequestLimits>;
  /** Require `Authorization: Bearer <token>` (or `?access_token=`) on every route. */
  readonly authToken?: string;
  /** Run jobs on `latentkit worker`s through BullMQ instead of in this process. */
  readonly queue?: { readonly url: string; readonly queueName?: string; readonly resultsFolder?: string };
  /** In-process jobs at once (default 1). */
  readonly concurrency?: number;
  /** In-process: passed to `fromPretrained`. */
  readonly loadOptions?: PipelineLoadOptions;
  /** Steps between previews for A1111 requests (default 1). */
  readonly previewEvery?: number;
  /** fastify's logger (default off). */
  readonly logger?: FastifyServerOptions['logger'];
}

/** A created server. */
export interface LatentkitServer {
  readonly app: FastifyInstance;
  readonly backend: GenerationBackend;
  readonly tracker: JobTracker;
  /** Starts listening (default 127.0.0.1:7860); resolves with the address. */
  listen(options?: { port?: number; host?: string }): Promise<string>;
  /** Stops accepting requests, cancels or fails what is pending, releases models and connections. */
  close(): Promise<void>;
}

function packageVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../package.json') as { version: string }).version;
}

/** The web page, read once (it is plain HTML and JavaScript: no build step). */
function webPage(): string {
  return readFileSync(path.join(__dirname, '..', 'public', 'index.html'), 'utf8');
}

/**
 * Creates the server (without listening).
 *
 * @example
 * ```ts
 * import { createServer } from '@latentkit/server';
 * const server = await createServer({ authToken: process.env.LATENTKIT_AUTH_TOKEN });
 * console.log(await server.listen({ port: 7860 })); // http://127.0.0.1:7860
 * ```
 */
export async function createServer(options: ServerOptions = {}): Promise<LatentkitServer> {
  const models = options.models?.length ? options.models : [{ name: TINY_MODEL_NAME }];
  const names = new Set<string>();
  for (const model of models) {
    if (names.has(model.name)) throw new InvalidArgumentError({ name: 'models', expected: 'distinct model names', actual: model.name });
    names.add(model.name);
  }
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  let currentModel = models[0]!.name;
  const previewEvery = options.previewEvery ?? 1;
  const jobContext = (): JobContext => ({ limits, models, currentModel, previewEvery });

  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: limits.maxBodyBytes,
    ajv: { customOptions: { allErrors: true, coerceTypes: true, useDefaults: true, removeAdditional: false } },
    return503OnClosing: true,
  });
  const log = (message: string, error?: unknown): void => app.log.error({ err: error }, message);
  const tracker = new JobTracker();
  const runner = options.queue ? undefined : new GenerationRunner({ models, loadOptions: options.loadOptions, workerName: 'local' });
  const backend: GenerationBackend = options.queue
    ? await QueueBackend.connect(tracker, { ...options.queue, log })
    : new LocalBackend(runner!, tracker, { concurrency: options.concurrency, log });

  const authToken = options.authToken;
  if (authToken !== undefined) {
    if (authToken.length < 8) throw new InvalidArgumentError({ name: 'authToken', expected: 'a token of at least 8 characters', actual: `${authToken.length} characters` });
    const allowed = tokenChecker(authToken);
    app.addHook('onRequest', async (request, reply) => {
      if (!allowed(request.headers.authorization, (request.query as Record<string, unknown> | undefined)?.access_token)) {
        reply.code(401).header('www-authenticate', 'Bearer').send({ detail: 'Not authenticated' });
        return reply;
      }
      return undefined;
    });
  }

  app.setErrorHandler((error: Error & { validation?: unknown[]; validationContext?: string; statusCode?: number }, request, reply) => {
    if (error.validation) {
      return reply.code(422).send({ detail: fromAjvErrors(error.validation as Parameters<typeof fromAjvErrors>[0], error.validationContext ?? 'body') });
    }
    if (error instanceof RequestValidationError) return reply.code(422).send({ detail: error.detail });
    if (InvalidArgumentError.isInstance(error)) return reply.code(422).send({ detail: fromPipelineError(error).detail });
    if (error instanceof HttpError) return reply.code(error.statusCode).send({ detail: error.detail });
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      // fastify's own client errors (body too large, bad JSON, wrong content type): their messages name no internals.
      return reply.code(error.statusCode).send({ detail: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ detail: 'Internal Server Error' });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not Found' }));

  const page = webPage();
  app.get('/', async (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'self'; img-src 'self' data:; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
      .header('x-content-type-options', 'nosniff')
      .send(page),
  );

  const context = { backend, tracker, jobContext, setCurrentModel: (name: string) => (currentModel = name), version: packageVersion() };
  registerA1111Routes(app, context);
  registerNativeRoutes(app, context);

  let closing: Promise<void> | undefined;
  return {
    app,
    backend,
    tracker,
    async listen({ port = 7860, host = '127.0.0.1' } = {}) {
      return app.listen({ port, host });
    },
    close() {
      closing ??= (async () => {
        await backend.close();
        await app.close();
        await runner?.dispose();
      })();
      return closing;
    },
  };
}
