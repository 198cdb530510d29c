import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '@latentkit/core';
import { DDIMScheduler } from '@latentkit/schedulers';
import { referencePath } from '@latentkit/testing';
import { StableDiffusionPipeline, chooseScheduler, cloneScheduler } from './index';

const modelConfig = {
  _class_name: 'PNDMScheduler',
  beta_start: 0.00085,
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
};
const quiet = () => {};

describe('chooseScheduler', () => {
  beforeAll(() => process.on('warning', quiet));
  afterAll(() => process.off('warning', quiet));

  it('builds the model\'s own scheduler, or a named one configured from the model\'s config', () => {
    expect(chooseScheduler(undefined, modelConfig).className).toBe('PNDMScheduler');
    const euler = chooseScheduler('euler', modelConfig);
    expect(euler.className).toBe('EulerDiscreteScheduler');
    expect(euler.config).toMatchObject({ beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', steps_offset: 1 });
    expect(chooseScheduler('DDIMScheduler', modelConfig).className).toBe('DDIMScheduler');
  });

  it('passes an instance through and refuses anything else', () => {
    const ddim = new DDIMScheduler(modelConfig, { onUnknownKey: quiet });
    expect(chooseScheduler(ddim, modelConfig)).toBe(ddim);
    expect(() => chooseScheduler('no-such-sampler', modelConfig)).toThrow(InvalidArgumentError);
    expect(() => chooseScheduler(42 as never, modelConfig)).toThrow(/scheduler must be a Scheduler instance or a name/);
  });

  it('clones a scheduler into an independent one with the same class and config', () => {
    const ddim = new DDIMScheduler({ ...modelConfig, timestep_spacing: 'trailing' }, { onUnknownKey: quiet });
    const copy = cloneScheduler(ddim)!;
    expect(copy).not.toBe(ddim);
    expect(copy.className).toBe('DDIMScheduler');
    expect(copy.config).toEqual(ddim.config);
    copy.setTimesteps(5);
    ddim.setTimesteps(10);
    expect(copy.timesteps).toHaveLength(5);
  });
});

const tinySd = referencePath('tiny-sd', 'onnx');
(tinySd ? describe : describe.skip)('every scheduler by name, end to end on tiny-sd', () => {
  let pipeline: StableDiffusionPipeline;
  beforeAll(async () => {
    pipeline = await StableDiffusionPipeline.fromPretrained(tinySd!, { sessionOptions: { threads: 1 } });
  });
  afterAll(() => pipeline?.dispose());

  const names = ['ddim', 'ddpm', 'pndm', 'euler', 'euler_a', 'heun', 'lms', 'dpm2', 'dpm2_a', 'dpmpp_2m', 'dpmpp_2m_sde_karras', 'dpmpp_2s', 'UniPC', 'DEIS', 'LCM'];
  it.each(names)('%s makes a finite image, the same for the same seed', async (name) => {
    const scheduler = chooseScheduler(name, JSON.parse(fs.readFileSync(path.join(tinySd!, 'scheduler/scheduler_config.json'), 'utf8')));
    const local = new StableDiffusionPipeline({ unet: pipeline.unet, vae: pipeline.vae, textEncoder: pipeline.textEncoder, scheduler });
    const a = await local.textToImage({ prompt: 'a red circle', numInferenceSteps: 4, seed: 1, outputType: 'float' });
    const b = await local.textToImage({ prompt: 'a red circle', numInferenceSteps: 4, seed: 1, outputType: 'float' });
    expect(a.images[0]!.data.every(Number.isFinite)).toBe(true);
    expect([...a.latents.data]).toEqual([...b.latents.data]);
  });
});
