import { ComponentMismatchError, IncompatibleComponentsError } from './errors';
import { assertCompatible, checkCompatibility, type ComponentsToCheck } from './compatibility';

// The declared metadata of SD 1.5's parts (from their configs): no weights are needed to check them.
const sd15: ComponentsToCheck = {
  textEncoders: [{ name: 'clip', hiddenSize: 768, maxLength: 77 }],
  tokenizer: { maxLength: 77 },
  unet: { inChannels: 4, outChannels: 4, crossAttentionDim: 768, sampleSize: 64, predictionType: 'epsilon' },
  vae: { latentChannels: 4, scaleFactor: 8 },
  scheduler: { className: 'PNDMScheduler', predictionType: 'epsilon' },
  image: { width: 512, height: 512 },
  task: 'text-to-image',
};

function messages(components: ComponentsToCheck): string[] {
  return checkCompatibility(components).map((p) => p.message);
}

describe('checkCompatibility', () => {
  it('accepts parts that fit', () => {
    expect(checkCompatibility(sd15)).toEqual([]);
    expect(() => assertCompatible(sd15)).not.toThrow();
  });

  it('rejects an encoder whose width is not the UNet cross-attention width', () => {
    const [problem, ...rest] = checkCompatibility({ ...sd15, textEncoders: [{ name: 'xlm-roberta-large', hiddenSize: 1024 }] });
    expect(rest).toEqual([]);
    expect(problem).toBeInstanceOf(ComponentMismatchError);
    expect(problem!.field).toBe('hiddenSize');
    expect(problem!.expected).toBe(768);
    expect(problem!.actual).toBe(1024);
    expect(problem!.message).toBe(
      "text encoder 'xlm-roberta-large' produces 1024-wide embeddings but the UNet's cross-attention expects 768: " +
        "the width must equal the UNet's cross_attention_dim, and the embeddings must live in the space the UNet was trained on: " +
        'use a text encoder trained for this UNet, or add a projection (1024 → 768) trained against the frozen UNet',
    );
  });

  it('sums the widths of several encoders (SDXL concatenates them)', () => {
    const sdxl = { ...sd15, unet: { ...sd15.unet!, crossAttentionDim: 2048 } };
    expect(checkCompatibility({ ...sdxl, textEncoders: [{ name: 'clip-l', hiddenSize: 768 }, { name: 'open-clip-bigg', hiddenSize: 1280 }] })).toEqual([]);
    expect(messages({ ...sdxl, textEncoders: [{ name: 'clip-l', hiddenSize: 768 }, { name: 'clip-l-again', hiddenSize: 768 }] })[0]).toMatch(
      /^text encoders 'clip-l' 768 \+ 'clip-l-again' 768 produce 1536-wide embeddings together but the UNet's cross-attention expects 2048: /,
    );
  });

  it('rejects a tokenizer longer than the encoder positions', () => {
    expect(messages({ ...sd15, tokenizer: { maxLength: 128 } })).toEqual([
      "the tokenizer makes 128-token sequences but text encoder 'clip' has 77 positions: " +
        'set model_max_length to 77 in tokenizer_config.json, or use the tokenizer shipped with the encoder',
    ]);
    expect(checkCompatibility({ ...sd15, tokenizer: { maxLength: 64 } })).toEqual([]);
  });

  it('checks UNet channels against the VAE latent channels, inpainting UNets included', () => {
    expect(messages({ ...sd15, unet: { ...sd15.unet!, inChannels: 16, outChannels: 4 } })).toEqual([
      "the UNet takes 16 input channels but the VAE makes 4-channel latents: a UNet for this VAE takes 4 (text-to-image) or 9 = 4 + 4 + 1 (inpainting); use a VAE and UNet from the same model family",
    ]);
    const inpaintingUnet = { ...sd15.unet!, inChannels: 9 };
    expect(checkCompatibility({ ...sd15, unet: inpaintingUnet, task: 'inpaint' })).toEqual([]);
    expect(messages({ ...sd15, unet: inpaintingUnet, task: 'text-to-image' })).toEqual([
      'the UNet is an inpainting UNet (9 = 4 + 4 + 1 input channels) and cannot run text-to-image: call inpaint() with an image and a mask, or load a text-to-image UNet',
    ]);
    expect(messages({ ...sd15, unet: { ...sd15.unet!, outChannels: 8 } })).toEqual([
      "the UNet predicts 8 channels but the VAE's latents have 4: use a VAE and UNet from the same model family",
    ]);
  });

  it('names the nearest valid sizes when the image does not divide by the VAE scale factor', () => {
    expect(messages({ ...sd15, image: { width: 500, height: 512 } })).toEqual([
      "image width 500 is not a positive multiple of the VAE's scale factor 8: the nearest valid widths are 496 or 504",
    ]);
    expect(messages({ ...sd15, image: { width: 512, height: 3 } })).toEqual([
      "image height 3 is not a positive multiple of the VAE's scale factor 8: the nearest valid heights are 8",
    ]);
  });

  it('checks the scheduler prediction type against the UNet when both are known', () => {
    expect(messages({ ...sd15, unet: { ...sd15.unet!, predictionType: 'v_prediction' } })).toEqual([
      "scheduler PNDMScheduler expects the model to predict 'epsilon' but the UNet predicts 'v_prediction': " +
        'configure the scheduler with prediction_type "v_prediction" (schedulers built from the model\'s own scheduler_config.json get this right)',
    ]);
    expect(checkCompatibility({ ...sd15, unet: { ...sd15.unet!, predictionType: undefined } })).toEqual([]);
  });

  it('reports every problem at once, and assertCompatible throws them together', () => {
    const broken: ComponentsToCheck = {
      ...sd15,
      textEncoders: [{ name: 'wide', hiddenSize: 1024, maxLength: 77 }],
      image: { width: 510, height: 510 },
      scheduler: { predictionType: 'sample' },
    };
    expect(checkCompatibility(broken)).toHaveLength(4);
    let caught: unknown;
    try {
      assertCompatible(broken);
    } catch (error) {
      caught = error;
    }
    expect(IncompatibleComponentsError.isInstance(caught)).toBe(true);
    expect((caught as IncompatibleComponentsError).problems).toHaveLength(4);
    expect((caught as Error).message).toMatch(/^The pipeline's components do not fit together \(4 problems\):\n {2}1\. text encoder 'wide'/);
  });

  it('skips rules whose parts are absent', () => {
    expect(checkCompatibility({ unet: sd15.unet })).toEqual([]);
    expect(checkCompatibility({})).toEqual([]);
  });
});
