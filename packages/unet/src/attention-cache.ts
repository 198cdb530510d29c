/**
 * The partitioned UNet on disk, cached like an optimized model: one folder per source model
 * (keyed by its absolute path, size and modification time, and this format's version) holding
 * `segment-N.onnx` and `plan.json`. Segments keep the source's external-data references
 * (`weights.pb`, relative to the model); they are opened with onnxruntime reading those weights
 * from the source's folder (`openOnnxSessionWithWeights`), and each goes through the
 * optimized-model cache like a whole graph does: the first load saves every segment as
 * onnxruntime optimized it, later loads open those copies with graph optimization off.
 * The first load decodes the graph and writes the folder; later loads only read `plan.json`.
 * The files are read and written synchronously: they are small (the graph without its weights),
 * and a load's step then measures its own time, not that of sessions other parts open meanwhile.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as ort from 'onnxruntime-node';
import { ModelLoadError } from '@latentkit/core';
import { openOnnxSessionWithWeights, type OnnxSessionOptions, type OnnxValueInfo } from '@latentkit/onnx';
import type { AttentionMatch } from './attention-pattern';
import { findAttention } from './attention-pattern';
import { partitionAroundAttention, type PartitionStep } from './attention-partition';
import { readModelFile, type GraphValue } from './onnx-graph-codec';

/** Bump when the plan or segment format changes, so stale caches are rebuilt. */
const FORMAT = 2;

/** A cached partition: segment files and the plan to run them. */
export interface CachedPartition {
  readonly folder: string;
  readonly segmentFiles: readonly string[];
  readonly steps: readonly PartitionStep[];
  readonly attention: readonly AttentionMatch[];
  /** The source graph's declared inputs and outputs (names, element types, shapes). */
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** Whether the plan was read from the cache (false: the graph was decoded and split now). */
  readonly fromCache: boolean;
}

/**
 * The cache root: `cacheDir` if given, else `LATENTKIT_CACHE_DIR`, else `$XDG_CACHE_HOME/latentkit`
 * or `~/.cache/latentkit`.
 */
export function attentionCacheRoot(cacheDir?: string): string {
  if (cacheDir) return cacheDir;
  if (process.env.LATENTKIT_CACHE_DIR) return process.env.LATENTKIT_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'latentkit');
}

/**
 * Returns the partition of `modelFile` from the cache, building it on first use. Returns
 * undefined when the graph has no attention the kernel can run (then nothing is written).
 *
 * @example
 * ```ts
 * const cached = await cachedPartition('models/sd15/unet/model.onnx');
 * cached?.segmentFiles.length; // 33 for SD 1.5
 * ```
 */
export async function cachedPartition(modelFile: string, cacheDir?: string): Promise<CachedPartition | undefined> {
  const absolute = path.resolve(modelFile);
  const stat = fs.statSync(absolute);
  const key = createHash('sha256').update(JSON.stringify([FORMAT, absolute, stat.size, stat.mtimeMs])).digest('hex').slice(0, 24);
  const folder = path.join(attentionCacheRoot(cacheDir), 'attention', key);
  const planFile = path.join(folder, 'plan.json');
  try {
    const plan = JSON.parse(fs.readFileSync(planFile, 'utf8')) as Omit<CachedPartition, 'folder' | 'segmentFiles'> & { segments: number; source: string; format: number };
    if (plan.source === absolute && plan.format === FORMAT) {
      const segmentFiles = Array.from({ length: plan.segments }, (_, i) => path.join(folder, `segment-${i}.onnx`));
      return plan.attention.length === 0 ? undefined : { folder, segmentFiles, steps: plan.steps, attention: plan.attention, inputs: plan.inputs, outputs: plan.outputs, fromCache: true };
    }
  } catch {
    // Not cached yet (or unreadable): build it.
  }
  const model = readModelFile(absolute);
  const partition = partitionAroundAttention(model, findAttention(model));
  const inputs = model.inputs.map(declared);
  const outputs = model.outputs.map(declared);
  const building = `${folder}.${process.pid}.${Date.now()}.tmp`;
  fs.mkdirSync(building, { recursive: true });
  try {
    for (const { tensor } of model.initializers.values()) {
      const location = tensor.location;
      if (tensor.external && location !== undefined && (path.isAbsolute(location) || location.split(/[\\/]/).includes('..'))) {
        throw new ModelLoadError({ path: absolute, reason: `an initializer's external data location '${location}' leaves the model folder: keep weights beside model.onnx` });
      }
    }
    const segmentFiles: string[] = [];
    for (const [i, bytes] of partition.segments.entries()) {
      const file = path.join(building, `segment-${i}.onnx`);
      fs.writeFileSync(file, bytes);
      segmentFiles.push(file);
    }
    const plan = { format: FORMAT, source: absolute, segments: partition.segments.length, steps: partition.steps, attention: partition.attention, inputs, outputs };
    fs.writeFileSync(path.join(building, 'plan.json'), JSON.stringify(plan));
    try {
      fs.renameSync(building, folder);
    } catch {
      // Another process finished the same partition first (its plan is as good as ours), or a
      // damaged folder is in the way: keep a readable one, replace a damaged one.
      const readable = fs.existsSync(planFile);
      if (readable) fs.rmSync(building, { recursive: true, force: true });
      else {
        fs.rmSync(folder, { recursive: true, force: true });
        fs.renameSync(building, folder);
      }
    }
  } catch (error) {
    fs.rmSync(building, { recursive: true, force: true });
    throw error;
  }
  if (partition.attention.length === 0) return undefined;
  const segmentFiles = partition.segments.map((_, i) => path.join(folder, `segment-${i}.onnx`));
  return { folder, segmentFiles, steps: partition.steps, attention: partition.attention, inputs, outputs, fromCache: false };
}

const ELEMENT_TYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64' };

/** A graph value as onnxruntime-node's metadata describes it (unknown dimensions as symbolic). */
function declared(value: GraphValue): OnnxValueInfo {
  return {
    name: value.name,
    type: ELEMENT_TYPES[value.elemType],
    shape: value.shape?.map((dim, axis) => dim ?? `unk__${axis}`),
  };
}

/**
 * Opens the segments of a cached partition as onnxruntime sessions reading weights from the
 * source model's folder, through the optimized-model cache (`sessionOptions.optimizedModelCache`;
 * a segment counts as large when its source's folder does). Spinning worker threads are turned off (measured: 40× slower on 2 cores
 * with them on, as each session's pool spins after its run while the next one works).
 *
 * @example
 * ```ts
 * const sessions = await openPartitionSessions(cached, 'models/sd15/unet/model.onnx', { threads: 4 });
 * ```
 */
export async function openPartitionSessions(cached: CachedPartition, modelFile: string, sessionOptions: OnnxSessionOptions = {}): Promise<ort.InferenceSession[]> {
  const extra = (sessionOptions as { extra?: Record<string, unknown> }).extra ?? {};
  const session = (extra.session as Record<string, unknown> | undefined) ?? {};
  // onnxruntime's default thread count follows the host's cores, not this process's share of
  // them (a 2-core container on a large host gets a pool per session far larger than 2): with
  // dozens of sessions that costs 5× on small calls, so segments default to the cores we may use.
  const threads = sessionOptions.threads ?? (process.env.LATENTKIT_THREADS ? undefined : os.availableParallelism());
  const options: OnnxSessionOptions = {
    logSeverityLevel: 3,
    // One arena per segment would keep each segment's peak for the life of the session: dozens
    // of arenas add up to more than the one big graph's. Without them, memory returns after each run.
    enableCpuMemArena: false,
    ...sessionOptions,
    ...(threads === undefined ? {} : { threads }),
    extra: {
      ...extra,
      session: {
        intra_op: { allow_spinning: '0' },
        ...session,
      },
    },
  };
  // The folder of the model file itself, links resolved (a folder of links to an export
  // elsewhere, as the tests and some download caches make, reads the weights where they are).
  const weightsFolder = path.dirname(fs.realpathSync(path.resolve(modelFile)));
  const sessions: ort.InferenceSession[] = [];
  try {
    for (const file of cached.segmentFiles) sessions.push(await openOnnxSessionWithWeights(file, weightsFolder, options));
  } catch (error) {
    for (const opened of sessions) await opened.release();
    throw error;
  }
  return sessions;
}
