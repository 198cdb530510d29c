/**
 * @latentkit/encoder-utils — what latentkit's text-encoder plugins share, below all of them:
 * `tokenizer.json` loading through `@huggingface/tokenizers`, a tokenizer folder's settings, the
 * CLIP/non-CLIP `model_type` rule, token-id buffers for the graph's inputs and the pieces of an encoder plugin. `@latentkit/encoder-clip`,
 * `@latentkit/encoder-multilingual` and third-party encoders build on it without depending on each other.
 *
 * @packageDocumentation
 */
export * from './huggingface-tokenizer';
export * from './tokenizer-settings';
export * from './model-type';
export * from './text-encoder-plugins';
export * from './token-id-feeds';
