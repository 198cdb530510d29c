import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describeModelFolder } from './model-description';
import { formatBytes } from './format-model-description';
import { scratchFolder } from './__fixtures__/scratch-folder';

/** Writes a model folder of configs only: inspect never reads weights. */
function writeFolder(root: string, index: Record<string, unknown>, configs: Record<string, [string, Record<string, unknown>]>): string {
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'model_index.json'), JSON.stringify({ _class_name: 'OnnxStableDiffusionPipeline', ...index }));
  for (const [slot, [file, config]] of Object.entries(configs)) {
    mkdirSync(path.join(root, slot), { recursive: true });
    writeFileSync(path.join(root, slot, file), JSON.stringify(config));
  }
  return root;
}

const ONNX = ['diffusers', 'OnnxRuntimeModel'];
const base = {
  index: { unet: ONNX, vae_decoder: ONNX, scheduler: ['diffusers', 'EulerDiscreteScheduler'], text_encoder: ONNX, tokenizer: ['transformers', 'CLIPTokenizer'] },
  configs: {
    unet: ['config.json', { _class_name: 'UNet2DConditionModel', in_channels: 4, out_channels: 4, cross_attention_dim: 32, sample_size: 32 }],
    vae_decoder: ['config.json', { _class_name: 'AutoencoderKL', latent_channels: 4, block_out_channels: [32, 64], scaling_factor: 0.18215 }],
    scheduler: ['scheduler_config.json', { _class_name: 'EulerDiscreteScheduler', prediction_type: 'epsilon', num_train_timesteps: 1000 }],
    text_encoder: ['config.json', { hidden_size: 32, max_position_embeddings: 77 }],
    tokenizer: ['tokenizer_config.json', { model_max_length: 77 }],
  } as Record<string, [string, Record<string, unknown>]>,
};

describe('describeModelFolder', () => {
  const scratch = scratchFolder('latentkit-describe-');

  it('checks each shipped text encoder with its own tokenizer (latentkit-tiny’s multilingual slot)', async () => {
    const folder = writeFolder(
      path.join(scratch(), 'two-encoders'),
      { ...base.index, text_encoder_multilingual: ONNX, tokenizer_multilingual: ['transformers', 'BertTokenizer'] },
      {
        ...base.configs,
        text_encoder_multilingual: ['config.json', { hidden_size: 48, max_position_embeddings: 64 }],
        tokenizer_multilingual: ['tokenizer_config.json', { model_max_length: 128 }],
      },
    );
    const report = await describeModelFolder(folder);
    expect(report.defaultImageSize).toBe(64);
    expect(report.compatible).toBe(false);
    expect(report.verdicts.map((v) => [v.textEncoders, v.tokenizer, v.compatible, v.problems.map((p) => `${p.component}.${p.field}`)])).toEqual([
      [['text_encoder'], 'tokenizer', true, []],
      [['text_encoder_multilingual'], 'tokenizer_multilingual', false, ["text encoder 'text_encoder_multilingual'.hiddenSize", "tokenizer 'tokenizer_multilingual'.maxLength"]],
    ]);
    expect(report.verdicts[1]!.problems[1]!.message).toBe(
      "the tokenizer makes 128-token sequences but text encoder 'text_encoder_multilingual' has 64 positions: " +
        'set model_max_length to 64 in tokenizer_config.json, or use the tokenizer shipped with the encoder',
    );
  });

  it("checks the width the UNet sees: project_dim when the encoder projects (AltDiffusion's 1024 → 768)", async () => {
    const folder = writeFolder(path.join(scratch(), 'alt-diffusion-like'), base.index, {
      ...base.configs,
      unet: ['config.json', { in_channels: 4, out_channels: 4, cross_attention_dim: 768, sample_size: 64 }],
      text_encoder: ['config.json', { model_type: 'roberta', hidden_size: 1024, project_dim: 768, max_position_embeddings: 514 }],
    });
    const report = await describeModelFolder(folder);
    expect(report.components.find((c) => c.slot === 'text_encoder')!.dimensions).toEqual({ hidden_size: 1024, project_dim: 768, max_position_embeddings: 514 });
    expect(report.verdicts).toEqual([{ textEncoders: ['text_encoder'], tokenizer: 'tokenizer', compatible: true, problems: [] }]);
  });

  it("adds SDXL's text_encoder_2 to text_encoder: their widths are concatenated", async () => {
    const folder = writeFolder(
      path.join(scratch(), 'sdxl-like'),
      { ...base.index, text_encoder_2: ONNX, tokenizer_2: ['transformers', 'CLIPTokenizer'] },
      {
        ...base.configs,
        unet: ['config.json', { in_channels: 4, out_channels: 4, cross_attention_dim: 2048, sample_size: 128 }],
        text_encoder: ['config.json', { hidden_size: 768, max_position_embeddings: 77 }],
        text_encoder_2: ['config.json', { hidden_size: 1280, max_position_embeddings: 77 }],
        tokenizer_2: ['tokenizer_config.json', { model_max_length: 77 }],
      },
    );
    const report = await describeModelFolder(folder);
    expect(report.verdicts).toEqual([{ textEncoders: ['text_encoder', 'text_encoder_2'], tokenizer: 'tokenizer', compatible: true, problems: [] }]);
  });

  it('notes declared values that are missing, and skips only the checks that need them', async () => {
    const folder = writeFolder(path.join(scratch(), 'missing'), base.index, {
      ...base.configs,
      unet: ['config.json', { in_channels: 9, out_channels: 4, sample_size: 64 }],
    });
    const report = await describeModelFolder(folder);
    expect(report.notes).toEqual(['unet/config.json: cross_attention_dim is missing or not a number, and the graph does not declare it, so the checks that need it were skipped']);
    expect(report.components.find((c) => c.slot === 'unet')!.dimensions.cross_attention_dim).toBeNull();
    // 9 = 4 + 4 + 1 input channels: an inpainting UNet, which fits this VAE.
    expect(report.compatible).toBe(true);
  });

  it('reports a UNet whose channels do not fit the VAE', async () => {
    const folder = writeFolder(path.join(scratch(), 'channels'), base.index, {
      ...base.configs,
      vae_decoder: ['config.json', { latent_channels: 16, block_out_channels: [32, 64, 64, 64], scaling_factor: 1.5305 }],
    });
    const report = await describeModelFolder(folder);
    expect(report.components.find((c) => c.slot === 'vae_decoder')!.dimensions).toEqual({ latent_channels: 16, vae_scale_factor: 8, scaling_factor: 1.5305 });
    expect(report.verdicts[0]!.problems.map((p) => p.field)).toEqual(['inChannels', 'outChannels']);
  });
});

describe('formatBytes', () => {
  it('uses binary units with one decimal', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1024), formatBytes(3912704), formatBytes(5 * 1024 ** 3)]).toEqual(['0 B', '1023 B', '1.0 KiB', '3.7 MiB', '5.0 GiB']);
  });
});
