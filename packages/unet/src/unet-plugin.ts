/**
 * The registry plugin that loads `["diffusers", "OnnxRuntimeModel"]` UNets, and `register()`.
 */
import { registry as defaultRegistry, type ComponentEntry, type Plugin, type PluginRegistry, type SupportAnswer } from '@latentkit/core';
import { OnnxUNet, type OnnxUNetOptions } from './onnx-unet';

/**
 * Loads the `unet` slot of a diffusers ONNX model folder with onnxruntime-node.
 *
 * @example
 * ```ts
 * import { registry } from '@latentkit/core';
 * import { onnxUNetPlugin } from '@latentkit/unet';
 * registry.register(onnxUNetPlugin);
 * ```
 */
export const onnxUNetPlugin: Plugin<OnnxUNet, OnnxUNetOptions> = {
  name: 'onnx-unet',
  specificationVersion: 'v1',
  kind: 'unet',
  supports(entry: ComponentEntry): SupportAnswer {
    if (entry.library === 'diffusers' && entry.className === 'OnnxRuntimeModel') return true;
    return { reason: `loads ["diffusers", "OnnxRuntimeModel"] UNets, not ${JSON.stringify([entry.library, entry.className])}` };
  },
  create: (source, options) => OnnxUNet.fromPretrained(source.componentPath, options),
};

/**
 * Registers this package's plugins (idempotent).
 *
 * @example
 * ```ts
 * import { register } from '@latentkit/unet';
 * register();
 * ```
 */
export function register(target: PluginRegistry = defaultRegistry): PluginRegistry {
  return target.register(onnxUNetPlugin);
}
