import * as os from 'node:os';
import * as path from 'node:path';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError, ModelLoadError } from '@latentkit/core';
import { ByteRange, memorySource, type ByteSource } from './byte-source';
import { OnnxAttributeType, OnnxDataType, externalDataOf, type OnnxModel } from './onnx-model';
import { decodeOnnxModel, decodeOnnxModelFrom, readOnnxModelFile } from './onnx-model-reader';
import { encodeOnnxModel, writeOnnxModelFile, writeOnnxModelWithExternalData } from './onnx-model-writer';
import { addWeightModel, floatValue, modelOf } from './__fixtures__/identity-model';

const repo = path.resolve(__dirname, '../../..');
const tinySd = path.resolve(repo, '../shared/reference/tiny-sd/onnx');
const modelTiny = path.join(repo, 'packages/model-tiny/model');
const shared = existsSync(tinySd);
if (!shared) console.warn(`skipping the tiny-sd round trips: ${tinySd} is absent (the shared reference models)`);

let scratch: string;
beforeAll(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'latentkit-onnx-model-'));
});
afterAll(async () => {
  await fs.rm(scratch, { recursive: true, force: true });
});

/** A source that counts the bytes handed out, to prove payloads are stepped over. */
function countingSource(bytes: Uint8Array): ByteSource & { readonly readBytes: number } {
  const inner = memorySource(bytes);
  let readBytes = 0;
  return {
    size: inner.size,
    get readBytes() {
      return readBytes;
    },
    read(offset, length) {
      readBytes += length;
      return inner.read(offset, length);
    },
    window(offset, minLength) {
      readBytes += Math.min(minLength, bytes.length - offset);
      return inner.window(offset, minLength);
    },
  };
}

async function run(source: string | Uint8Array, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const session = typeof source === 'string' ? await ort.InferenceSession.create(source) : await ort.InferenceSession.create(source);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('decodeOnnxModel / encodeOnnxModel', () => {
  const files = [
    ...['text_encoder', 'text_encoder_multilingual', 'unet', 'vae_decoder', 'vae_encoder'].map((part) => path.join(modelTiny, part, 'model.onnx')),
    ...(shared ? ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'].map((part) => path.join(tinySd, part, 'model.onnx')) : []),
  ];

  it.each(files)('round-trips %s byte for byte, from memory and from the file', (file) => {
    const bytes = new Uint8Array(readFileSync(file));
    expect(Buffer.compare(encodeOnnxModel(decodeOnnxModel(bytes)), bytes)).toBe(0);
    expect(Buffer.compare(encodeOnnxModel(readOnnxModelFile(file)), bytes)).toBe(0);
  });

  it('decodes nodes, attributes, initializers and declared shapes as exported', () => {
    const model = readOnnxModelFile(path.join(modelTiny, 'unet', 'model.onnx'));
    expect(model.irVersion).toBe(8);
    expect(model.opsetImports).toEqual([{ domain: '', version: 17 }]);
    const sample = model.graph.inputs.find((input) => input.name === 'sample');
    expect(sample?.tensorType?.elemType).toBe(OnnxDataType.FLOAT);
    expect(sample?.tensorType?.shape?.[1]).toBe(4);
    const convIn = model.graph.nodes.find((node) => node.opType === 'Conv');
    expect(convIn?.attributes.find((a) => a.name === 'kernel_shape')).toMatchObject({ type: OnnxAttributeType.INTS, ints: [3, 3] });
    const weight = model.graph.initializers.find((t) => t.name === convIn!.inputs[1]);
    expect(weight?.dims.slice(1)).toEqual([4, 3, 3]);
    expect(weight?.data?.field).toBe('raw_data');
    expect(weight?.data?.bytes.file).toBe(path.join(modelTiny, 'unet', 'model.onnx'));
    expect(weight?.data?.bytes.length).toBe(4 * weight!.dims.reduce<number>((a, b) => a * Number(b), 1));
  });

  it('steps over weight payloads instead of reading them', () => {
    const bytes = new Uint8Array(readFileSync(path.join(modelTiny, 'unet', 'model.onnx')));
    const source = countingSource(bytes);
    const model = decodeOnnxModelFrom(source);
    const payload = model.graph.initializers.reduce((sum, t) => sum + (t.data?.bytes.length ?? 0), 0);
    expect(payload).toBeGreaterThan(0.9 * bytes.length);
    // Generous bound: everything but the payloads, plus windows of up to 10 bytes per varint.
    expect(source.readBytes).toBeLessThan(bytes.length - payload + 10 * 100_000);
    expect(source.readBytes).toBeLessThan(0.5 * bytes.length);
  });

  it('keeps int64 attribute values exactly, including INT64_MAX and negatives', () => {
    const model = modelOf({
      nodes: [
        {
          name: 'slice',
          opType: 'Custom',
          domain: 'test.domain',
          inputs: ['x'],
          outputs: ['y'],
          attributes: [
            { name: 'ends', type: OnnxAttributeType.INTS, ints: [9223372036854775807n, -1, 0] },
            { name: 'axis', type: OnnxAttributeType.INT, i: -2 },
            { name: 'alpha', type: OnnxAttributeType.FLOAT, f: 0.5 },
            { name: 'mode', type: OnnxAttributeType.STRING, s: new TextEncoder().encode('nearest') },
            { name: 'scales', type: OnnxAttributeType.FLOATS, floats: [1, 2.5] },
          ],
        },
      ],
      inputs: [floatValue('x', ['batch', null as never])],
      outputs: [{ name: 'y', typePreserved: Uint8Array.of(0x22, 0x00) /* a sequence_type TypeProto */ }],
    });
    const back = decodeOnnxModel(encodeOnnxModel(model));
    expect(back.graph.nodes[0]).toEqual(model.graph.nodes[0]);
    expect(back.graph.inputs[0]?.tensorType?.shape).toEqual(['batch', null]);
    expect(back.graph.outputs[0]?.typePreserved).toEqual(Uint8Array.of(0x22, 0x00));
  });

  it('carries fields it does not decode through unchanged', () => {
    const trainingInfo = Uint8Array.of(0xa2, 0x01, 0x00); // ModelProto field 20, empty message
    const model = { ...modelOf({ nodes: [] }), preserved: [trainingInfo] };
    const bytes = encodeOnnxModel(model);
    expect(decodeOnnxModel(bytes).preserved).toEqual([trainingInfo]);
  });

  it('refuses data that is not an ONNX model, and names the file', async () => {
    expect(() => decodeOnnxModel(Uint8Array.of(8, 8))).toThrow('not an ONNX model: no graph (ModelProto field 7)');
    const garbage = path.join(scratch, 'garbage.onnx');
    await fs.writeFile(garbage, 'not protobuf at all');
    expect(() => readOnnxModelFile(garbage)).toThrow(ModelLoadError);
    expect(() => readOnnxModelFile(garbage)).toThrow(/garbage\.onnx.*not a valid ONNX model/);
    expect(() => readOnnxModelFile(path.join(scratch, 'missing.onnx'))).toThrow(/the ONNX model file does not exist/);
    expect(() => readOnnxModelFile(scratch)).toThrow(/it is a directory, not an ONNX model file/);
  });
});

describe('edited models', () => {
  it('run in onnxruntime with the edit, e.g. an intermediate value added to the outputs', async () => {
    const base = addWeightModel([1, 2, 3]);
    const model: OnnxModel = {
      ...base,
      graph: {
        ...base.graph,
        nodes: [...base.graph.nodes, { name: 'double', opType: 'Add', domain: '', inputs: ['output', 'output'], outputs: ['doubled'], attributes: [] }],
        outputs: [floatValue('doubled', [3]), { name: 'output', tensorType: { elemType: OnnxDataType.FLOAT } }],
      },
    };
    const out = await run(encodeOnnxModel(model), { input: new ort.Tensor('float32', Float32Array.of(10, 20, 30), [3]) });
    // Exact: small integers are exact in float32.
    expect(Array.from(out.output!.data as Float32Array)).toEqual([11, 22, 33]);
    expect(Array.from(out.doubled!.data as Float32Array)).toEqual([22, 44, 66]);
  });
});

describe('external data', () => {
  it('is written as a reference, read back without opening the data file, and resolved by onnxruntime', async () => {
    const folder = path.join(scratch, 'external');
    await fs.mkdir(folder);
    const file = path.join(folder, 'model.onnx');
    writeOnnxModelWithExternalData(file, addWeightModel(Array.from({ length: 1000 }, (_, i) => i)), 'weights.pb', 64);
    expect((await fs.stat(path.join(folder, 'weights.pb'))).size).toBe(4000);
    const out = await run(file, { input: new ort.Tensor('float32', new Float32Array(1000).fill(1), [1000]) });
    // Exact: small integers are exact in float32.
    expect((out.output!.data as Float32Array)[999]).toBe(1000);

    await fs.rename(path.join(folder, 'weights.pb'), path.join(folder, 'moved.pb')); // the reader must not need it
    const model = readOnnxModelFile(file);
    expect(externalDataOf(model.graph.initializers[0]!)).toEqual({ location: 'weights.pb', offset: 0, length: 4000 });
    expect(model.graph.initializers[0]!.data).toBeUndefined();
    await fs.rename(path.join(folder, 'moved.pb'), path.join(folder, 'weights.pb'));

    // Re-written beside the original, the reference still resolves.
    const copy = path.join(folder, 'copy.onnx');
    writeOnnxModelFile(copy, model);
    expect((await run(copy, { input: new ort.Tensor('float32', new Float32Array(1000), [1000]) })).output!.data[10]).toBe(10);
  });

  it('streams payloads from the source file, and refuses to overwrite that file', async () => {
    const source = path.join(scratch, 'inline.onnx');
    writeOnnxModelFile(source, addWeightModel([5, 6]));
    const model = readOnnxModelFile(source);
    expect(model.graph.initializers[0]!.data!.bytes.file).toBe(source);
    const target = path.join(scratch, 'inline-copy.onnx');
    writeOnnxModelFile(target, model);
    expect(Buffer.compare(readFileSync(target), readFileSync(source))).toBe(0);
    expect(() => writeOnnxModelFile(source, model)).toThrow(InvalidArgumentError);
    expect(() => writeOnnxModelWithExternalData(target, model, '../weights.pb')).toThrow(/dataFile must be a file name relative to the model's folder/);
  });

  it('byte ranges read files in pieces', () => {
    const range = ByteRange.inFile(path.join(modelTiny, 'unet', 'model.onnx'), 10, 100);
    const pieces: number[] = [];
    range.forEachPiece((piece) => pieces.push(piece.length), 32);
    expect(pieces).toEqual([32, 32, 32, 4]);
    expect(range.read()).toEqual(new Uint8Array(readFileSync(path.join(modelTiny, 'unet', 'model.onnx'))).subarray(10, 110));
  });
});
