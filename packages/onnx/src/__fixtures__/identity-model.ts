/**
 * Writes one-node ONNX models (Identity; Add with external weights) as protobuf bytes, so that the tests need no model file
 * from another package. Field numbers are those of onnx.proto3 (ModelProto, GraphProto, NodeProto,
 * ValueInfoProto, TypeProto.Tensor, TensorShapeProto.Dimension).
 */

/** A dimension: a number is fixed (`dim_value`), a string symbolic (`dim_param`). */
export type Dimension = number | string;

const FLOAT = 1; // TensorProto.DataType.FLOAT

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

function varintField(field: number, value: number): number[] {
  return [...varint(field << 3), ...varint(value)];
}

function bytesField(field: number, payload: number[] | string): number[] {
  const bytes = typeof payload === 'string' ? [...Buffer.from(payload, 'utf8')] : payload;
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
}

function valueInfo(name: string, shape: readonly Dimension[]): number[] {
  const dims = shape.flatMap((dim) => bytesField(1, typeof dim === 'number' ? varintField(1, dim) : bytesField(2, dim)));
  const tensorType = [...varintField(1, FLOAT), ...bytesField(2, dims)];
  return [...bytesField(1, name), ...bytesField(2, bytesField(1, tensorType))];
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
  const node = [...bytesField(1, names.input), ...bytesField(2, names.output), ...bytesField(4, 'Identity')];
  const graph = [
    ...bytesField(1, node),
    ...bytesField(2, 'identity'),
    ...bytesField(11, valueInfo(names.input, shape)),
    ...bytesField(12, valueInfo(names.output, shape)),
  ];
  const opset = [...bytesField(1, ''), ...varintField(2, 17)];
  return Uint8Array.from([...varintField(1, 8), ...bytesField(7, graph), ...bytesField(8, opset)]);
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
  const entry = (key: string, value: string) => bytesField(13, [...bytesField(1, key), ...bytesField(2, value)]);
  const initializer = [
    ...varintField(1, weight.length),
    ...varintField(2, FLOAT),
    ...bytesField(8, 'weight'),
    ...entry('location', weightsFile),
    ...entry('offset', '0'),
    ...entry('length', String(weights.length)),
    ...varintField(14, 1), // data_location: EXTERNAL
  ];
  const node = [...bytesField(1, 'input'), ...bytesField(1, 'weight'), ...bytesField(2, 'output'), ...bytesField(4, 'Add')];
  const graph = [
    ...bytesField(1, node),
    ...bytesField(2, 'add'),
    ...bytesField(5, initializer),
    ...bytesField(11, valueInfo('input', [weight.length])),
    ...bytesField(12, valueInfo('output', [weight.length])),
  ];
  const opset = [...bytesField(1, ''), ...varintField(2, 17)];
  return { model: Uint8Array.from([...varintField(1, 8), ...bytesField(7, graph), ...bytesField(8, opset)]), weights };
}
