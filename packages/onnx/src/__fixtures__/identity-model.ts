/**
 * Small ONNX models for tests (Identity; Add with external weights), written with the package's
 * own writer so that the tests need no model file from another package.
 */
import { ByteRange } from '../byte-source';
import { OnnxDataType, type OnnxGraphValue, type OnnxModel } from '../onnx-model';
import { encodeOnnxModel } from '../onnx-model-writer';

/** A dimension: a number is fixed (`dim_value`), a string symbolic (`dim_param`). */
export type Dimension = number | string;

/** A float32 graph value of `shape`. */
export function floatValue(name: string, shape: readonly Dimension[]): OnnxGraphValue {
  return { name, tensorType: { elemType: OnnxDataType.FLOAT, shape } };
}

/** A model around `graph` parts, at IR 8 / opset 17. */
export function modelOf(graph: Partial<OnnxModel['graph']> & Pick<OnnxModel['graph'], 'nodes'>): OnnxModel {
  return {
    irVersion: 8,
    opsetImports: [{ domain: '', version: 17 }],
    graph: { name: 'test', initializers: [], inputs: [], outputs: [], valueInfo: [], ...graph },
  };
}

/**
 * A float32 model whose one output `output` equals its one input `input`, both of `shape`.
 *
 * @example
 * ```ts
 * await fs.writeFile('model.onnx', identityModel(['batch', 4, 8, 8]));
 * ```
 */
export function identityModel(shape: readonly Dimension[], names = { input: 'input', output: 'output' }): Uint8Array {
  return encodeOnnxModel(
    modelOf({
      name: 'identity',
      nodes: [{ name: '', opType: 'Identity', domain: '', inputs: [names.input], outputs: [names.output], attributes: [] }],
      inputs: [floatValue(names.input, shape)],
      outputs: [floatValue(names.output, shape)],
    }),
  );
}

/**
 * The model `output = input + weight` over `[length]` with `weight` stored inside it.
 *
 * @example
 * ```ts
 * const model = addWeightModel([1, 2, 3]);
 * ```
 */
export function addWeightModel(weight: readonly number[]): OnnxModel {
  return modelOf({
    name: 'add',
    nodes: [{ name: 'add', opType: 'Add', domain: '', inputs: ['input', 'weight'], outputs: ['output'], attributes: [] }],
    initializers: [
      { name: 'weight', dataType: OnnxDataType.FLOAT, dims: [weight.length], data: { field: 'raw_data', bytes: ByteRange.of(new Uint8Array(Float32Array.from(weight).buffer)) } },
    ],
    inputs: [floatValue('input', [weight.length])],
    outputs: [floatValue('output', [weight.length])],
  });
}

/**
 * A float32 model `output = input + weight` over `[length]`, whose initializer `weight` lives in the
 * external data file `weightsFile` (a path relative to the model, as exporters write it); the
 * returned `weights` are that file's bytes.
 *
 * @example
 * ```ts
 * const { model, weights } = addExternalWeightModel([1, 2, 3], 'weights.pb');
 * ```
 */
export function addExternalWeightModel(weight: readonly number[], weightsFile: string): { model: Uint8Array; weights: Uint8Array } {
  const weights = new Uint8Array(Float32Array.from(weight).buffer);
  const inside = addWeightModel(weight);
  const { data: _inline, ...tensor } = inside.graph.initializers[0]!;
  void _inline;
  const external = {
    ...tensor,
    externalData: [
      { key: 'location', value: weightsFile },
      { key: 'offset', value: '0' },
      { key: 'length', value: String(weights.length) },
    ],
    dataLocation: 1,
  };
  return { model: encodeOnnxModel({ ...inside, graph: { ...inside.graph, initializers: [external] } }), weights };
}
