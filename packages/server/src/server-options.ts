/**
 * The server's settings as plain data, with safe defaults: loopback only, limits on everything a
 * request can make large, and models only from a configured list.
 */

/** Limits every request is checked against. */
export interface RequestLimits {
  /** Largest request body in bytes (default 16 MiB: an init image and a mask as base64). */
  readonly maxBodyBytes: number;
  /** Longest prompt or negative prompt, in characters (default 2000). */
  readonly maxPromptLength: number;
  /** Most sampling steps (default 150, as A1111's slider). */
  readonly maxSteps: number;
  /** Largest width × height in pixels (default 1024 × 1024). */
  readonly maxPixels: number;
  /** Most images per request, `batch_size × n_iter` (default 8). */
  readonly maxImages: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: RequestLimits = Object.freeze({
  maxBodyBytes: 16 * 1024 * 1024,
  maxPromptLength: 2000,
  maxSteps: 150,
  maxPixels: 1024 * 1024,
  maxImages: 8,
});

/** A model the server may run: requests name it, only the operator gives its folder. */
export interface ModelEntry {
  /** The name clients use (`sd_model_checkpoint`, `model`). */
  readonly name: string;
  /** A diffusers-layout ONNX folder; omitted: the bundled latentkit-tiny model. */
  readonly path?: string;
}

/** The bundled model's name. */
export const TINY_MODEL_NAME = 'latentkit-tiny';

/**
 * `name=folder` or a folder (named after its last path part) → a model entry.
 *
 * @example
 * ```ts
 * parseModelArgument('sd15=/models/sd15-onnx'); // { name: 'sd15', path: '/models/sd15-onnx' }
 * ```
 */
export function parseModelArgument(value: string): ModelEntry {
  const equals = value.indexOf('=');
  if (equals > 0) return { name: value.slice(0, equals), path: value.slice(equals + 1) };
  const parts = value.replace(/[\\/]+$/, '').split(/[\\/]/);
  return { name: parts[parts.length - 1] || value, path: value };
}
