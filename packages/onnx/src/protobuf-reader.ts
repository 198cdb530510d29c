/**
 * latentkit's one protobuf wire-format reader, enough to walk ONNX files (`ModelProto` →
 * `GraphProto` → nodes, value infos, initializers) without a protobuf dependency. It reads from
 * memory or through a file window ({@link ByteSource}), so that length-delimited payloads a
 * caller does not want (a weight's `raw_data`) are stepped over, never read.
 *
 * Wire format: https://protobuf.dev/programming-guides/encoding/ — every field is a varint key
 * (`number << 3 | wire type`) and a payload: 0 varint, 1 eight bytes, 2 length-delimited, 5 four bytes.
 */
import { memorySource, type ByteSource } from './byte-source';

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
 * Values beyond 2^53 lose precision (use {@link ProtobufReader.int64} for int64 fields).
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
 * Decodes one varint as a signed 64-bit integer (protobuf `int64`: negatives are ten-byte two's
 * complements): a `number` when it is a safe integer, else a `bigint`, so nothing is rounded.
 */
function int64FromVarint(bytes: Uint8Array, position: number): [value: number | bigint, next: number] {
  let end = position;
  while (end < bytes.length && (bytes[end]! & 0x80) !== 0) end++;
  if (end >= bytes.length) throw new RangeError('truncated protobuf: a varint runs past the end of the data');
  if (end - position < 7) return readVarint(bytes, position); // < 2^49: exact as a number
  let value = 0n;
  for (let i = end; i >= position; i--) value = (value << 7n) | BigInt(bytes[i]! & 0x7f);
  const signed = BigInt.asIntN(64, value);
  const small = Number(signed);
  return [Number.isSafeInteger(small) ? small : signed, end + 1];
}

/**
 * Reads the fields of protobuf messages from a {@link ByteSource}.
 *
 * @example
 * ```ts
 * const reader = new ProtobufReader(memorySource(bytes));
 * for (const field of reader.fields(0, bytes.length)) if (field.number === 7) console.log('graph at', field.start);
 * ```
 */
export class ProtobufReader {
  constructor(readonly source: ByteSource) {}

  /** A varint at `position` (up to ten bytes) as a number, and the position after it. */
  varint(position: number, end = this.source.size): [value: number, next: number] {
    const { bytes, start } = this.source.window(position, Math.min(10, end - position));
    let value = 0;
    let scale = 1;
    const stop = Math.min(end, start + bytes.length);
    for (let p = position; p < stop; p++) {
      const byte = bytes[p - start]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return [value, p + 1];
      scale *= 128;
    }
    throw new RangeError('truncated protobuf: a varint runs past the end of the data');
  }

  /** The signed int64 varint at `position`: a number when safe, else a bigint. */
  int64(position: number, end = this.source.size): number | bigint {
    return int64FromVarint(this.source.read(position, Math.min(10, end - position)), 0)[0];
  }

  /** A packed run of int64 varints (payload `field.start`..`field.end`). */
  packedInt64(field: ProtobufField): (number | bigint)[] {
    const bytes = this.source.read(field.start, field.end - field.start);
    const out: (number | bigint)[] = [];
    for (let p = 0; p < bytes.length; ) {
      const [value, next] = int64FromVarint(bytes, p);
      out.push(value);
      p = next;
    }
    return out;
  }

  /** A length-delimited payload's bytes (copied only when the source is a file window). */
  bytes(field: ProtobufField): Uint8Array {
    const view = this.source.read(field.start, field.end - field.start);
    return this.source.path === undefined ? view : view.slice();
  }

  /** A length-delimited payload as UTF-8 text. */
  text(field: ProtobufField): string {
    return utf8.decode(this.source.read(field.start, field.end - field.start));
  }

  /** A 32-bit float (wire type 5). */
  float32(field: ProtobufField): number {
    const bytes = this.source.read(field.start, 4);
    return new DataView(bytes.buffer, bytes.byteOffset, 4).getFloat32(0, true);
  }

  /** The whole field, key included, as bytes (to carry an undecoded field through unchanged). */
  wholeField(field: ProtobufField): Uint8Array {
    return this.source.read(field.keyStart, field.end - field.keyStart).slice();
  }

  /**
   * The fields of the message in `[start, end)`, in file order. Only keys and lengths are read:
   * a length-delimited payload is skipped by its length. Throws a `RangeError` on a wire type ONNX
   * does not use (groups) or on a field that runs past its message.
   */
  *fields(start: number, end: number): Generator<ProtobufField> {
    let position = start;
    while (position < end) {
      const keyStart = position;
      let key: number;
      [key, position] = this.varint(position, end);
      const number = Math.floor(key / 8);
      const wire = key & 7;
      let from = position;
      if (wire === 0) [, position] = this.varint(position, end);
      else if (wire === 1) position += 8;
      else if (wire === 5) position += 4;
      else if (wire === 2) {
        let length: number;
        [length, from] = this.varint(position, end);
        position = from + length;
      } else throw new RangeError(`unsupported protobuf wire type ${wire} at byte ${keyStart}`);
      if (position > end) throw new RangeError(`truncated protobuf: field ${number} at byte ${keyStart} runs past the end of its message`);
      yield { number, wire, keyStart, start: from, end: position };
    }
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
  return [...new ProtobufReader(memorySource(bytes)).fields(start, end)];
}

const utf8 = new TextDecoder();

/**
 * A length-delimited field's payload as UTF-8 text (names, op types).
 *
 * @example
 * ```ts
 * const [name] = readProtobufFields(Uint8Array.of(0x0a, 0x01, 0x78));
 * protobufText(Uint8Array.of(0x0a, 0x01, 0x78), name!); // 'x'
 * ```
 */
export function protobufText(bytes: Uint8Array, field: ProtobufField): string {
  return utf8.decode(bytes.subarray(field.start, field.end));
}
