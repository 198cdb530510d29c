/**
 * @latentkit/encoder-multilingual — non-CLIP text encoders (XLM-R, BERT, …) in CLIP's place:
 * any `tokenizer.json`, an ONNX encoder with per-token states, an optional projection to the
 * UNet's width. Pooled-only encoders (M-CLIP) are refused with the reason.
 *
 * @packageDocumentation
 */
export * from './multilingual-tokenizer';
export * from './safetensors';
export * from './token-projection';
export * from './multilingual-text-encoder';
export * from './multilingual-plugins';
