import { camelToSnake, resolveConfig, snakeToCamel } from './config';

describe('config helpers', () => {
  it('converts between snake_case and camelCase', () => {
    expect(snakeToCamel('beta_start')).toBe('betaStart');
    expect(snakeToCamel('use_karras_sigmas')).toBe('useKarrasSigmas');
    expect(camelToSnake('numTrainTimesteps')).toBe('num_train_timesteps');
  });

  it('merges over defaults, keeps metadata aside and reports unknown keys', () => {
    const unknown: string[] = [];
    const config = resolveConfig(
      { _class_name: 'DDIMScheduler', beta_start: 0.001, betaEnd: 0.02, mystery: 1 },
      { beta_start: 0.00085, beta_end: 0.012, steps_offset: 0 },
      { onUnknown: (key) => unknown.push(key) },
    );
    expect(config).toEqual({ beta_start: 0.001, beta_end: 0.02, steps_offset: 0 });
    expect(unknown).toEqual(['mystery']);
  });
});
