/**
 * The plugin that lets `fromPretrained()` load a hashing text encoder from a model folder whose
 * `model_index.json` says `"text_encoder": ["latentkit-example", "HashingTextEncoder"]`, with the
 * encoder's dimensions in `text_encoder/config.json` (`hidden_size`, `max_position_embeddings`).
 */
import * as path from 'node:path';
import {
  configField,
  isPositiveInteger,
  readJsonObject,
  registry as defaultRegistry,
  type Plugin,
  type PluginRegistry,
  type TextEncoder,
} from '@latentkit/core';
import { createHashingTextEncoder } from './hashing-text-encoder';

/**
 * The class name this plugin loads, as written in `model_index.json`.
 *
 * @example
 * ```ts
 * // model_index.json: { "text_encoder": ["latentkit-example", "HashingTextEncoder"] }
 * ```
 */
export const HASHING_TEXT_ENCODER_CLASS = 'HashingTextEncoder';

/** What `create()` accepts besides the folder's config. */
export interface HashingEncoderPluginOptions {
  /** Overrides the config's `seed`. */
  seed?: number;
}

const isNonNegativeInteger = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * The text-encoder plugin object.
 *
 * @example
 * ```ts
 * import { registry } from '@latentkit/core';
 * import { hashingEncoderPlugin } from '@latentkit-example/encoder-plugin-hashing';
 *
 * registry.register(hashingEncoderPlugin);
 * ```
 */
export const hashingEncoderPlugin: Plugin<TextEncoder, HashingEncoderPluginOptions> = Object.freeze({
  name: 'hashing-text-encoder',
  specificationVersion: 'v1',
  kind: 'text-encoder',
  supports(entry) {
    return (
      entry.className === HASHING_TEXT_ENCODER_CLASS || {
        reason: `it loads only [..., "${HASHING_TEXT_ENCODER_CLASS}"] entries, not ${JSON.stringify([entry.library, entry.className])}`,
      }
    );
  },
  async create(source, options = {}) {
    const file = path.join(source.componentPath, 'config.json');
    const config = source.config ?? (await readJsonObject(file));
    const hiddenSize = configField(config, 'hidden_size', { file, expected: 'a positive integer', test: isPositiveInteger });
    const maxLength = configField(config, 'max_position_embeddings', { file, expected: 'a positive integer', test: isPositiveInteger });
    const seed = options.seed ?? (config.seed === undefined ? 0 : configField(config, 'seed', { file, expected: 'a non-negative integer', test: isNonNegativeInteger }));
    return createHashingTextEncoder({ hiddenSize, maxLength, seed });
  },
} satisfies Plugin<TextEncoder, HashingEncoderPluginOptions>);

/**
 * Registers {@link hashingEncoderPlugin} (in the process-wide registry by default). Idempotent.
 *
 * @example
 * ```ts
 * import { register } from '@latentkit-example/encoder-plugin-hashing';
 * register(); // now fromPretrained() can load ["latentkit-example", "HashingTextEncoder"] text encoders
 * ```
 */
export function register(registry: PluginRegistry = defaultRegistry): PluginRegistry {
  return registry.register(hashingEncoderPlugin);
}
