/**
 * A minimal protobuf reader for ONNX files: enough to walk `ModelProto` → `GraphProto` → nodes,
 * value infos and initializers by field number, without a protobuf dependency. Used where
 * latentkit reads or edits a graph itself (re-wiring a VAE encoder's outputs, listing attention
 * layers' shapes).
 */

/** One field of a protobuf message: its number, wire type, and where its payload lies. */
export interface ProtobufField {
  readonly number: number;
  /** 0 varint, 1 64-bit, 2 length-delimited, 5 32-bit. */
  readonly wire: number;
  /** Where the field's key starts (for wire type 2 the payload follows the length). */
  readonly keyStart: number;
  /** The payload: bytes `start` to `end` (exclusive); for a varint, the varint's own bytes. */
  readonly start: number;
  readonly end: number;
}

/**
 * Reads a base-128 varint at `position`; returns its value and the position after it.
 * Values beyond 2^53 lose precision (ONNX dims and lengths stay far below).
 *
 * @example
 * ```ts
 * readVarint(Uint8Array.of(0xac, 0x02), 0); // [300, 2]
 * ```
 */
export function readVarint(bytes: Uint8Array, position: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = bytes[position++];
    if (byte === undefined) throw new RangeError('truncated protobuf: a varint runs past the end of the data');
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, position];
    scale *= 128;
  }
}

/**
 * Lists the fields of the message stored in `bytes[start, end)`, in file order.
 * Throws a `RangeError` on a wire type ONNX does not use or on truncated data.
 *
 * @example
 * ```ts
 * const model = new Uint8Array(await fs.readFile('unet/model.onnx'));
 * const graph = readProtobufFields(model).find((f) => f.number === 7 && f.wire === 2); // ModelProto.graph
 * ```
 */
export function readProtobufFields(bytes: Uint8Array, start = 0, end = bytes.length): ProtobufField[] {
  const out: ProtobufField[] = [];
  let position = start;
  while (position < end) {
    const keyStart = position;
    let key: number;
    [key, position] = readVarint(bytes, position);
    const number = Math.floor(key / 8);
    const wire = key & 7;
    let from = position;
    if (wire === 0) [, position] = readVarint(bytes, position);
    else if (wire === 1) position += 8;
    else if (wire === 5) position += 4;
    else if (wire === 2) {
      let length: number;
      [length, from] = readVarint(bytes, position);
      position = from + length;
    } else throw new RangeError(`unsupported protobuf wire type ${wire} at byte ${keyStart}`);
    if (position > end) throw new RangeError(`truncated protobuf: field ${number} at byte ${keyStart} runs past the end of its message`);
    out.push({ number, wire, keyStart, start: from, end: position });
  }
  return out;
}

const utf8 = new TextDecoder();

/** A length-delimited field's payload as UTF-8 text (names, op types). */
export function protobufText(bytes: Uint8Array, field: ProtobufField): string {
  return utf8.decode(bytes.subarray(field.start, field.end));
}
