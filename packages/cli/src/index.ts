/**
 * @latentkit/cli — the `latentkit` command line (generate, img2img, inpaint, denoise, inspect),
 * and its commands as functions for programs and tests.
 *
 * @packageDocumentation
 */
export { run, cliVersion } from './run';
export { ExitCode, exitCodeFor, type ExitCodeValue } from './exit-codes';
export { UsageError } from './usage-error';
export type { CliIo, OutputStream } from './cli-io';
export { parseArguments, flagName, formatOptions, type OptionSpec, type OptionSpecs, type OptionType, type ParsedArguments } from './argument-parser';
export { describeModelFolder, type ModelDescription, type ComponentDescription, type CompatibilityVerdict, type CompatibilityProblem, type ComponentRole } from './model-description';
export { formatModelDescription, formatBytes } from './format-model-description';
export { inspectCommand, INSPECT_OPTIONS } from './inspect-command';
export { generationCommand } from './generate-command';
export { serveCommand, workerCommand, SERVE_OPTIONS, WORKER_OPTIONS, AUTH_TOKEN_ENV } from './serve-command';
export { GENERATION_OPTIONS, type GenerationCommand } from './generation-options';
export { createProgressReporter, type ProgressReporter, type ProgressStream } from './progress-reporter';
export { readImageFile, writePngFile, numberedPath, type PixelImage, type ReadImageOptions } from './png-files';
export { checkOutputPaths, writeImageFile, outputFormat, OutputWriteError, OUTPUT_FORMATS, type OutputFormat } from './image-output';
export { resizeImage, RESIZE_MODES, type ResizeMode } from './input-resize';
export { readModelDefaults, DIFFUSERS_DEFAULTS, type ModelDefaults } from './model-defaults';
export { schedulersCommand, SCHEDULERS_OPTIONS } from './schedulers-command';
export { droppedWords, promptWarnings, type DroppedWords } from './prompt-warnings';
