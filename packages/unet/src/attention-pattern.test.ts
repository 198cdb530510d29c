import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { modelPath } from '@latentkit/model-tiny';
import { findAttention } from './attention-pattern';
import { partitionAroundAttention } from './attention-partition';
import { decodeModel } from './onnx-graph-codec';
import { SegmentedSession } from './segmented-session';
import { float16ToFloat32, float32ToFloat16 } from '@latentkit/native';
import { float16AttentionGraph, multiHeadAttentionGraph, scaledDotProductAttentionGraph } from './__fixtures__/attention-graphs';

const shared = process.env.LATENTKIT_SHARED ?? path.resolve(__dirname, '../../../../shared');
const tinySdUNet = path.join(shared, 'reference/tiny-sd/onnx/unet/model.onnx');
const tinySdPresent = fs.existsSync(tinySdUNet);
if (!tinySdPresent) console.warn(`Skipping the converter-layout pattern test: ${tinySdUNet} is absent (set LATENTKIT_SHARED)`);
const tinyUNet = path.join(modelPath, 'unet/model.onnx');

function load(file: string) {
  return decodeModel(new Uint8Array(fs.readFileSync(file)));
}

describe('findAttention', () => {
  it('finds every attention of the embedded model (4-D head layout): Q, K, V before the split, 4 heads, scale 1/√32', () => {
    const model = load(tinyUNet);
    const matches = findAttention(model);
    expect(matches).toHaveLength(model.nodes.filter((n) => n.opType === 'Softmax').length);
    expect(matches).toHaveLength(14);
    expect(matches.map((m) => m.kind)).toEqual(Array.from({ length: 14 }, (_, i) => (i % 2 === 0 ? 'self' : 'cross')));
    for (const match of matches) {
      expect(match.heads).toBe(4);
      expect(match.scale).toBeCloseTo(1 / Math.sqrt(32), 7);
      expect(match.query).toMatch(/\/q\/MatMul_output_0$/);
      expect(match.key).toMatch(/\/k\/MatMul_output_0$/);
      expect(match.value).toMatch(/\/v\/MatMul_output_0$/);
    }
  });

  (tinySdPresent ? it : it.skip)("finds the diffusers converter's baddbmm layout ([B·H, N, D], zero bias) in tiny-sd", () => {
    const matches = findAttention(load(tinySdUNet));
    expect(matches).toHaveLength(8);
    for (const match of matches) {
      expect(match.heads).toBe(8);
      expect(match.scale).toBeCloseTo(1 / Math.sqrt(8), 7);
      expect(match.query).toMatch(/to_q\/MatMul_output_0$/);
      expect(match.output).toMatch(/attn[12]\/Reshape_7_output_0$/);
    }
    expect(matches.filter((m) => m.kind === 'cross')).toHaveLength(4);
  });

  it('leaves a graph alone whose attention it cannot run: CLIP\'s causal-masked attention', () => {
    const model = load(path.join(modelPath, 'text_encoder/model.onnx'));
    expect(model.nodes.some((n) => n.opType === 'Softmax')).toBe(true);
    expect(findAttention(model)).toEqual([]);
    const partition = partitionAroundAttention(model, []);
    expect(partition.steps.filter((s) => s.kind === 'attention')).toEqual([]);
    expect(partition.segments).toHaveLength(1);
  });

  it("finds torch's scaled_dot_product_attention export (√(1/√d) from Q's shape on Q and Kᵀ) and runs it exactly", async () => {
    const { bytes, model } = scaledDotProductAttentionGraph(2, 8);
    const matches = findAttention(model);
    expect(matches).toEqual([expect.objectContaining({ query: 'q_in', key: 'k_in', value: 'v_in', output: 'attended', heads: 2, scale: undefined })]);
    const partition = partitionAroundAttention(model, matches);
    expect(partition.steps.map((s) => s.kind)).toEqual(['attention', 'segment']);
    const sessions = await Promise.all(partition.segments.map((segment) => ort.InferenceSession.create(segment)));
    const segmented = new SegmentedSession(sessions, partition.steps, partition.attention, partition.outputs, 'sdpa.onnx');
    const whole = await ort.InferenceSession.create(bytes);
    const random = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * seed));
    const feeds = {
      q_in: new ort.Tensor('float32', random(2 * 6 * 16, 1.3), [2, 6, 16]),
      k_in: new ort.Tensor('float32', random(2 * 4 * 16, 2.9), [2, 4, 16]),
      v_in: new ort.Tensor('float32', random(2 * 4 * 16, 3.7), [2, 4, 16]),
    };
    const expected = (await whole.run(feeds)).out!.data as Float32Array;
    const actual = (await segmented.run(feeds)).out!.data as Float32Array;
    // Tolerance: two float32 softmax-attention implementations, outputs of magnitude ≤ 1: 1e-5 absolute.
    for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(1e-5);
    await Promise.all([whole.release(), segmented.dispose()]);
  });

  it('finds com.microsoft MultiHeadAttention and runs it between onnxruntime segments, matching onnxruntime', async () => {
    const { bytes, model } = multiHeadAttentionGraph(2);
    const matches = findAttention(model);
    expect(matches).toEqual([expect.objectContaining({ query: 'q', key: 'k_in', value: 'v_in', output: 'attended', heads: 2, scale: undefined })]);
    const partition = partitionAroundAttention(model, matches);
    expect(partition.steps.map((s) => s.kind)).toEqual(['segment', 'attention', 'segment']);
    const sessions = await Promise.all(partition.segments.map((segment) => ort.InferenceSession.create(segment)));
    const segmented = new SegmentedSession(sessions, partition.steps, partition.attention, partition.outputs, 'mha.onnx');
    const whole = await ort.InferenceSession.create(bytes);
    const random = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * seed));
    const feeds = {
      q_in: new ort.Tensor('float32', random(2 * 5 * 16, 1.7), [2, 5, 16]),
      k_in: new ort.Tensor('float32', random(2 * 3 * 16, 2.3), [2, 3, 16]),
      v_in: new ort.Tensor('float32', random(2 * 3 * 16, 3.1), [2, 3, 16]),
    };
    const expected = (await whole.run(feeds)).out!.data as Float32Array;
    const actual = (await segmented.run(feeds)).out!.data as Float32Array;
    // Tolerance: two float32 softmax-attention implementations, outputs of magnitude ≤ 1: 1e-5 absolute.
    expect(actual.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThan(1e-5);
    await Promise.all([whole.release(), segmented.dispose()]);
  });
});

describe('a UNet attention block exported in float16', () => {
  test.each([false, true])('is found and runs natively (float32 inside, float16 at the edges) close to onnxruntime in float16 (upcast softmax: %s)', async (upcastSoftmax) => {
    const [batch, tokens, heads, headDim] = [2, 40, 2, 8];
    const { bytes, model } = float16AttentionGraph({ batch, tokens, heads, headDim, upcastSoftmax });
    const matches = findAttention(model);
    // The scale is the graph's float16 constant 1/√8, as onnxruntime multiplies by it.
    const scale = float16ToFloat32(float32ToFloat16(Float32Array.of(1 / Math.sqrt(headDim))))[0]!;
    expect(matches).toEqual([expect.objectContaining({ query: 'q_proj', key: 'k_proj', value: 'v_proj', output: 'attended', heads, scale })]);
    const partition = partitionAroundAttention(model, matches);
    expect(partition.steps.map((s) => s.kind)).toEqual(['segment', 'attention', 'segment']);
    const sessions = await Promise.all(partition.segments.map((segment) => ort.InferenceSession.create(segment)));
    const segmented = new SegmentedSession(sessions, partition.steps, partition.attention, partition.outputs, 'float16.onnx');
    const whole = await ort.InferenceSession.create(bytes);
    const x = Float32Array.from({ length: batch * tokens * heads * headDim }, (_, i) => Math.sin((i + 1) * 0.37) * 1.5);
    const feeds = { x: new ort.Tensor('float16', float32ToFloat16(x), [batch, tokens, heads * headDim]) };
    const expectedTensor = (await whole.run(feeds)).out!;
    const actualTensor = (await segmented.run(feeds)).out!;
    expect(actualTensor.type).toBe('float16');
    expect(actualTensor.dims).toEqual(expectedTensor.dims);
    const expected = float16ToFloat32(expectedTensor.data as Uint16Array);
    const actual = float16ToFloat32(actualTensor.data as Uint16Array);
    // Tolerance: the native path computes in float32 and rounds only its output to float16;
    // onnxruntime's CPU provider computes the float16 graph with float16 roundings in between
    // (at most 2⁻¹¹ relative each). Measured max |Δ| here: 3.1e-5 against outputs up to 0.24
    // (1.3e-4 of the largest). Allowed: 4 float16 steps (4·2⁻¹¹ ≈ 2e-3) of the largest output.
    const magnitude = expected.reduce((m, value) => Math.max(m, Math.abs(value)), 0);
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    expect(magnitude).toBeGreaterThan(0.1);
    expect(worst).toBeLessThanOrEqual(4 * 2 ** -11 * magnitude);
    await Promise.all([whole.release(), segmented.dispose()]);
  });
});
