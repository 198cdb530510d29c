/**
 * @latentkit/schedulers — the diffusion schedulers (samplers) of HuggingFace diffusers, number for
 * number: one class per file, constructed from a diffusers `scheduler_config.json`.
 *
 * @packageDocumentation
 */
export * from './scheduling-ddpm';
export * from './scheduling-ddim';
export * from './scheduling-pndm';
export * from './scheduling-lms-discrete';
export * from './scheduling-euler-discrete';
export * from './scheduling-euler-ancestral-discrete';
export * from './scheduling-heun-discrete';
export * from './scheduling-k-dpm-2-discrete';
export * from './scheduling-k-dpm-2-ancestral-discrete';
export * from './scheduling-dpmsolver-multistep';
export * from './scheduling-dpmsolver-singlestep';
export * from './scheduling-unipc-multistep';
export * from './scheduling-deis-multistep';
export * from './scheduling-lcm';
export * from './scheduler-from-config';
export * from './scheduler-plugin';
export { SchedulerBase, type SchedulerConfig, type SchedulerOptions } from './scheduler-base';
export { SIGMA_SCHEDULER_DEFAULTS, SigmaSchedulerBase, type SigmaSchedulerConfig } from './sigma-scheduler-base';
export { SOLVER_SCHEDULER_DEFAULTS, SolverSchedulerBase, noiseLevel, type NoiseLevel, type SolverSchedulerConfig } from './solver-base';
export { BETA_SCHEDULES, NOISE_SCHEDULE_DEFAULTS, alphasCumprodFrom, betasFor, rescaleZeroTerminalSnr, torchLinspaceFloat32, type NoiseScheduleConfig } from './noise-schedule';
export { THRESHOLDING_DEFAULTS } from './thresholding';
export { TIMESTEP_SPACINGS, type TimestepSpacing } from './timestep-spacing';
export { karrasSigmas, exponentialSigmas, sigmaToTimestep } from './sigmas';
