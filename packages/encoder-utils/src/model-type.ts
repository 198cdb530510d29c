/**
 * How plugins tell a CLIP text model from other encoders when `model_index.json` cannot: every
 * ONNX export is `["diffusers", "OnnxRuntimeModel"]`, so the component's `config.json` decides.
 */

/**
 * The `model_type` a component's `config.json` names when it is not a CLIP text model (`'bert'`,
 * `'xlm-roberta'`, …), else undefined (CLIP, or no config to say).
 *
 * @example
 * ```ts
 * nonClipModelType({ model_type: 'xlm-roberta' }); // 'xlm-roberta'
 * nonClipModelType({ model_type: 'clip_text_model' }); // undefined
 * ```
 */
export function nonClipModelType(config: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const modelType = config?.model_type;
  return typeof modelType === 'string' && !modelType.startsWith('clip') ? modelType : undefined;
}
