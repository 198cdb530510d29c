/**
 * A text encoder whose sessions can be released between uses and reopen on the next `encode`:
 * what `releaseTextEncoder` uses so that a one-shot generation does not hold the text encoder's
 * weights (about 0.5 GB for SD 1.x's CLIP ViT-L/14) through the denoising loop, while a pipeline
 * used again still works (it pays the text encoder's load time once more).
 */
import { StateError, type TextEncodeOptions, type TextEncoder, type TextEncoderOutput, type Tokenizer } from '@latentkit/core';

/**
 * Wraps a text encoder and the function that opens it again.
 *
 * @example
 * ```ts
 * const open = () => CLIPTextEncoder.fromPretrained('models/sd15-onnx');
 * const encoder = new ReopeningTextEncoder(await open(), open);
 * await encoder.encode(['a red circle']);
 * await encoder.release(); // the sessions are closed
 * await encoder.encode(['a blue square']); // reopened first
 * ```
 */
export class ReopeningTextEncoder implements TextEncoder {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  readonly hiddenSize: number;
  readonly maxLength: number;
  readonly pooledSize?: number;
  readonly tokenizer?: Tokenizer;
  private current: TextEncoder | undefined;
  private opening: Promise<TextEncoder> | undefined;
  private active = 0;
  private releaseWhenIdle = false;
  private disposed = false;

  constructor(encoder: TextEncoder, private readonly open: () => Promise<TextEncoder>) {
    this.current = encoder;
    this.name = encoder.name;
    this.hiddenSize = encoder.hiddenSize;
    this.maxLength = encoder.maxLength;
    if (encoder.pooledSize !== undefined) this.pooledSize = encoder.pooledSize;
    if (encoder.tokenizer !== undefined) this.tokenizer = encoder.tokenizer;
  }

  /** Whether the wrapped encoder's sessions are open now. */
  get isOpen(): boolean {
    return this.current !== undefined;
  }

  async encode(prompts: readonly string[], options?: TextEncodeOptions): Promise<TextEncoderOutput> {
    if (this.disposed) throw new StateError('This text encoder was disposed: load the pipeline again');
    this.active += 1;
    this.releaseWhenIdle = false;
    try {
      const encoder = await this.acquire();
      return await encoder.encode(prompts, options);
    } finally {
      this.active -= 1;
      if (this.active === 0 && this.releaseWhenIdle) await this.closeNow();
    }
  }

  /**
   * Closes the wrapped encoder's sessions now, or, while an `encode` runs, as soon as the last
   * one finishes; the next `encode` reopens it. Harmless when already released.
   */
  async release(): Promise<void> {
    if (this.active > 0) {
      this.releaseWhenIdle = true;
      return;
    }
    await this.closeNow();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.closeNow();
  }

  private async acquire(): Promise<TextEncoder> {
    if (this.current) return this.current;
    this.opening ??= this.open().then(
      (encoder) => {
        this.opening = undefined;
        this.current = encoder;
        return encoder;
      },
      (error: unknown) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  private async closeNow(): Promise<void> {
    this.releaseWhenIdle = false;
    // An open under way finishes first, so that its sessions are closed too.
    const encoder = this.current ?? (this.opening ? await this.opening.catch(() => undefined) : undefined);
    this.current = undefined;
    await encoder?.dispose?.();
  }
}
