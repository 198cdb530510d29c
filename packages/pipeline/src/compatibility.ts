/**
 * The orchestrator's compatibility check. It lives in `@latentkit/core` (no onnxruntime), so that
 * `latentkit inspect` and `--help` start at once; re-exported here, where it has always been.
 */
export {
  assertCompatible,
  checkCompatibility,
  type ComponentsToCheck,
  type PipelineTask,
  type SchedulerDescription,
  type TextEncoderDescription,
  type TokenizerDescription,
  type UNetDescription,
  type VaeDescription,
} from '@latentkit/core';
