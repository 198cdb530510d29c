/**
 * @latentkit/pipeline — the orchestrator: checks that the parts fit, then runs Stable Diffusion.
 *
 * @packageDocumentation
 */
export * from './compatibility';
