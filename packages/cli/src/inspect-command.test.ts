import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describeWithReference } from '@latentkit/testing';
import { capturedIo } from './__fixtures__/captured-io';
import { scratchFolder } from './__fixtures__/scratch-folder';
import { ExitCode } from './exit-codes';
import { run } from './run';

describeWithReference('latentkit inspect on tiny-sd', ['tiny-sd', 'onnx'], (tinySd) => {
  it('prints each component’s class, files, sizes and declared dimensions, and the verdict (exit 0)', async () => {
    const io = capturedIo();
    expect(await run(['inspect', tinySd], io)).toBe(ExitCode.ok);
    const out = io.out();
    expect(out).toContain(`model     ${tinySd}\npipeline  OnnxStableDiffusionPipeline (diffusers 0.25.1)\n`);
    expect(out).toContain('image     32×32 by default (UNet sample_size × VAE scale factor)');
    expect(out).toContain('empty     feature_extractor, safety_checker');
    expect(out).toContain(
      'unet  [diffusers, OnnxRuntimeModel] UNet2DConditionModel\n' +
        '  files     config.json 1.6 KiB, model.onnx 623.2 KiB, weights.pb 3.7 MiB  = 4.3 MiB\n' +
        '  declared  in_channels 4 (config), out_channels 4 (config), cross_attention_dim 32 (config), sample_size 16 (config)\n',
    );
    expect(out).toContain('  declared  latent_channels 4 (config), vae_scale_factor 2 (config), scaling_factor 0.18215 (config)\n');
    expect(out).toContain('text_encoder (text encoder)  [diffusers, OnnxRuntimeModel]\n');
    expect(out).toContain('  declared  hidden_size 32 (config), max_position_embeddings 77 (config)\n');
    expect(out).toContain('tokenizer  [transformers, CLIPTokenizer]\n');
    expect(out).toContain('  declared  model_max_length 77 (config)\n');
    expect(out).toContain('scheduler  [diffusers, PNDMScheduler]\n  files     scheduler_config.json 374 B\n  declared  prediction_type epsilon (config), num_train_timesteps 1000 (config)\n');
    expect(out).toMatch(/\ncompatible: text_encoder \+ tokenizer, scheduler, unet, vae_decoder, vae_encoder fit together\nruns: generate, img2img, inpaint, denoise\n$/);
    expect(io.err()).toBe('');
  });

  it('prints the same report as JSON with --json', async () => {
    const io = capturedIo();
    expect(await run(['inspect', tinySd, '--json'], io)).toBe(ExitCode.ok);
    const report = JSON.parse(io.out());
    expect(report).toMatchObject({ path: tinySd, pipelineClassName: 'OnnxStableDiffusionPipeline', compatible: true, defaultImageSize: 32, notes: [] });
    const unet = report.components.find((c: { slot: string }) => c.slot === 'unet');
    expect(unet).toMatchObject({ role: 'unet', configClassName: 'UNet2DConditionModel', configFile: 'unet/config.json', bytes: 1648 + 638179 + 3912704 });
    expect(unet.dimensions).toEqual({ in_channels: 4, out_channels: 4, cross_attention_dim: 32, sample_size: 16 });
    expect(report.verdicts).toEqual([{ textEncoders: ['text_encoder'], tokenizer: 'tokenizer', compatible: true, problems: [] }]);
  });

  describe('a diffusers-converter folder (no config.json in its ONNX parts)', () => {
    const scratch = scratchFolder('latentkit-inspect-converter-');
    /** tiny-sd without its parts' config.json files; `textEncoder` replaces text_encoder/model.onnx. */
    const converterCopy = (name: string, textEncoder?: string): string => {
      const folder = path.join(scratch(), name);
      cpSync(tinySd, folder, { recursive: true, filter: (source) => !(path.basename(source) === 'config.json' && readdirSync(path.dirname(source)).includes('model.onnx')) });
      if (textEncoder) cpSync(textEncoder, path.join(folder, 'text_encoder', 'model.onnx'));
      return folder;
    };

    it('checks every dimension from what the graphs declare, and says where each value came from', async () => {
      const folder = converterCopy('fits');
      const io = capturedIo();
      expect(await run(['inspect', folder], io)).toBe(ExitCode.ok);
      const out = io.out();
      expect(out).toContain('  declared  in_channels 4 (graph), out_channels 4 (graph), cross_attention_dim 32 (graph), sample_size ?\n');
      expect(out).toContain('  declared  latent_channels 4 (graph), vae_scale_factor 2 (graph), scaling_factor ?\n');
      expect(out).toContain('  declared  hidden_size 32 (graph), max_position_embeddings 77 (graph)\n');
      expect(out).toContain('  declared  model_max_length 77 (config)\n');
      expect(out).toMatch(/\ncompatible: text_encoder \+ tokenizer, scheduler, unet, vae_decoder, vae_encoder fit together\nruns: generate, img2img, inpaint, denoise\n$/);
      const json = JSON.parse(await (async () => {
        const jsonIo = capturedIo();
        await run(['inspect', folder, '--json'], jsonIo);
        return jsonIo.out();
      })());
      expect(json.components.find((c: { slot: string }) => c.slot === 'unet').sources).toEqual({ in_channels: 'graph', out_channels: 'graph', cross_attention_dim: 'graph' });
    });

    it('refuses a text encoder of another width, naming both values (exit 3)', async () => {
      const folder = converterCopy('wider', path.resolve(__dirname, '../../model-tiny/model/text_encoder/model.onnx'));
      const io = capturedIo();
      expect(await run(['inspect', folder], io)).toBe(ExitCode.model);
      expect(io.out()).toContain(
        'NOT compatible: text_encoder + tokenizer (1 problem)\n' +
          "  1. text encoder 'text_encoder' produces 128-wide embeddings but the UNet's cross-attention expects 32: ",
      );
    });

    it('refuses a config.json that disagrees with its graph, naming both values (exit 3)', async () => {
      const folder = converterCopy('conflict');
      writeFileSync(path.join(folder, 'unet', 'config.json'), JSON.stringify({ in_channels: 4, out_channels: 4, cross_attention_dim: 768 }));
      const io = capturedIo();
      expect(await run(['inspect', folder], io)).toBe(ExitCode.model);
      expect(io.out()).toContain('\nruns: nothing (the parts do not fit, see above)\n');
      expect(io.out()).toContain('NOT consistent: unet/config.json says cross_attention_dim = 768 but unet/model.onnx declares 32: the config does not belong to this model\n');
    });
  });

  describe('a folder whose parts do not fit', () => {
    const scratch = scratchFolder('latentkit-inspect-');
    beforeAll(() => {
      // Configs only (no weights): inspect reads metadata, never the models.
      for (const slot of ['scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae_decoder', 'vae_encoder']) {
        cpSync(path.join(tinySd, slot), path.join(scratch(), slot), { recursive: true, filter: (source) => !/\.(onnx|pb)$/.test(source) });
      }
      cpSync(path.join(tinySd, 'model_index.json'), path.join(scratch(), 'model_index.json'));
      const encoderConfig = path.join(scratch(), 'text_encoder', 'config.json');
      writeFileSync(encoderConfig, JSON.stringify({ hidden_size: 64, max_position_embeddings: 77 }));
    });

    it('prints the problem and exits 3', async () => {
      const io = capturedIo();
      expect(await run(['inspect', scratch()], io)).toBe(ExitCode.model);
      expect(io.out()).toContain(
        'NOT compatible: text_encoder + tokenizer (1 problem)\n' +
          "  1. text encoder 'text_encoder' produces 64-wide embeddings but the UNet's cross-attention expects 32: ",
      );
    });
  });
});

// Real converter output (tools/fixtures/sd-layouts, made by tools/sd-export with diffusers' own
// convert_stable_diffusion_checkpoint_to_onnx.py): SD 1.5 and SD 2.1 block structures with text
// states 1/32 as wide as the real ones (24 for 768, 32 for 1024) and no config.json in any ONNX part.
const layouts = path.resolve(__dirname, '../../../tools/fixtures/sd-layouts');
const converterFixtures = ['diffusers-sd15', 'diffusers-sd21'].every((name) => existsSync(path.join(layouts, name, 'unet', 'model.onnx')));
if (!converterFixtures) console.warn(`Skipping inspect on the export-layout fixtures: ${layouts} lacks diffusers-sd15 or diffusers-sd21 (tools/sd-export/make-fixtures.sh)`);

(converterFixtures ? describe : describe.skip)('latentkit inspect on diffusers-converter exports (tools/fixtures/sd-layouts)', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'latentkit-inspect-layouts-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('reads the SD 2.x widths from the graphs (exit 0)', async () => {
    const io = capturedIo();
    expect(await run(['inspect', path.join(layouts, 'diffusers-sd21')], io)).toBe(ExitCode.ok);
    const out = io.out();
    expect(out).toContain('  declared  prediction_type v_prediction (config), num_train_timesteps 1000 (config)\n');
    expect(out).toContain('  declared  hidden_size 32 (graph), max_position_embeddings 77 (graph)\n');
    expect(out).toContain('  declared  in_channels 4 (graph), out_channels 4 (graph), cross_attention_dim 32 (graph), sample_size ?\n');
    expect(out).toContain('  declared  latent_channels 4 (graph), vae_scale_factor 8 (graph), scaling_factor ?\n');
    expect(out).toContain('\ncompatible: text_encoder + tokenizer, scheduler, unet, vae_decoder, vae_encoder fit together\n');
  });

  it.each([
    { base: 'diffusers-sd15', donor: 'diffusers-sd21', text: 32, unet: 24 },
    { base: 'diffusers-sd21', donor: 'diffusers-sd15', text: 24, unet: 32 },
  ])('refuses the $donor text encoder with the $base UNet, naming both widths (exit 3)', async ({ base, donor, text, unet }) => {
    const folder = path.join(scratch, `${donor}-text-in-${base}`);
    cpSync(path.join(layouts, base), folder, { recursive: true });
    for (const part of ['text_encoder', 'tokenizer']) {
      rmSync(path.join(folder, part), { recursive: true });
      cpSync(path.join(layouts, donor, part), path.join(folder, part), { recursive: true });
    }
    const io = capturedIo();
    expect(await run(['inspect', folder], io)).toBe(ExitCode.model);
    expect(io.out()).toMatch(/\nruns: nothing \(the parts do not fit, see above\)\n$/);
    expect(io.out()).toContain(`  declared  hidden_size ${text} (graph), max_position_embeddings 77 (graph)\n`);
    expect(io.out()).toContain(`cross_attention_dim ${unet} (graph)`);
    expect(io.out()).toContain(
      'NOT compatible: text_encoder + tokenizer (1 problem)\n' +
        `  1. text encoder 'text_encoder' produces ${text}-wide embeddings but the UNet's cross-attention expects ${unet}: `,
    );
    const generate = capturedIo();
    expect(await run(['generate', 'a red circle', '--model', folder, '--steps', '1', '--out', path.join(scratch, 'never.png'), '--quiet'], generate)).toBe(ExitCode.model);
    expect(generate.err()).toContain(`text encoder 'text_encoder' produces ${text}-wide embeddings but the UNet's cross-attention expects ${unet}`);
    expect(existsSync(path.join(scratch, 'never.png'))).toBe(false);
  });
});

describe('latentkit inspect errors', () => {
  it('exits 3 naming the path when the folder does not exist', async () => {
    const io = capturedIo();
    expect(await run(['inspect', '/nonexistent/model'], io)).toBe(ExitCode.model);
    expect(io.err()).toBe('latentkit inspect: Cannot load /nonexistent/model: the model folder does not exist\n');
  });

  it('exits 3 naming the file when model_index.json is malformed', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'latentkit-inspect-bad-'));
    try {
      writeFileSync(path.join(scratch, 'model_index.json'), '{ "unet": ["diffusers" }');
      const io = capturedIo();
      expect(await run(['inspect', scratch], io)).toBe(ExitCode.model);
      expect(io.err()).toMatch(new RegExp(`^latentkit inspect: Cannot load ${path.join(scratch, 'model_index.json')}: it is not valid JSON at line 1, column \\d+`));
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('exits 2 for two folders', async () => {
    const io = capturedIo();
    expect(await run(['inspect', 'a', 'b'], io)).toBe(ExitCode.usage);
    expect(io.err()).toContain("inspect takes one model folder, got 2: 'a' 'b'");
  });
});
