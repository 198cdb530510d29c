/**
 * The registry plugin that loads `["diffusers", "OnnxRuntimeModel"]` VAEs, and `register()`.
 */
import { registry as defaultRegistry, type ComponentEntry, type Plugin, type PluginRegistry, type SupportAnswer } from '@latentkit/core';
import { OnnxVae, type OnnxVaeOptions } from './onnx-vae';

const SLOTS = ['vae', 'vae_decoder', 'vae_encoder'];

/**
 * Loads the VAE of a diffusers ONNX model folder. Resolved for the `vae_decoder` (or `vae`) slot,
 * it opens both halves from the model folder.
 *
 * @example
 * ```ts
 * import { registry } from '@latentkit/core';
 * import { onnxVaePlugin } from '@latentkit/vae';
 * registry.register(onnxVaePlugin);
 * ```
 */
export const onnxVaePlugin: Plugin<OnnxVae, OnnxVaeOptions> = {
  name: 'onnx-vae',
  specificationVersion: 'v1',
  kind: 'vae',
  supports(entry: ComponentEntry): SupportAnswer {
    if (!SLOTS.includes(entry.slot)) return { reason: `loads the ${SLOTS.join('/')} slots, not '${entry.slot}'` };
    if (entry.library === 'diffusers' && entry.className === 'OnnxRuntimeModel') return true;
    return { reason: `loads ["diffusers", "OnnxRuntimeModel"] VAEs, not ${JSON.stringify([entry.library, entry.className])}` };
  },
  create: (source, options) => OnnxVae.fromPretrained(source.modelPath, options),
};

/**
 * Registers this package's plugins (idempotent).
 *
 * @example
 * ```ts
 * import { register } from '@latentkit/vae';
 * register();
 * ```
 */
export function register(target: PluginRegistry = defaultRegistry): PluginRegistry {
  return target.register(onnxVaePlugin);
}
