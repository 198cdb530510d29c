/**
 * latentkit's one protobuf wire-format writer. A message is built as a list of pieces: small
 * encoded bytes, nested messages, and {@link ByteRange}s (tensor payloads left in memory or in a
 * file), so that re-encoding a model never copies its weights until the bytes are written out.
 */
import { ByteRange } from './byte-source';

type Piece = Uint8Array | ByteRange;

/** Appends a varint (int64 semantics: a negative value is its ten-byte two's complement). */
function pushVarint(out: number[], value: number | bigint): void {
  if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    let rest = value;
    while (rest >= 0x80) {
      out.push((rest % 128) | 0x80);
      rest = Math.floor(rest / 128);
    }
    out.push(rest);
    return;
  }
  if (typeof value === 'number' && !Number.isInteger(value)) throw new RangeError(`a protobuf varint must be an integer, got ${value}`);
  let v = BigInt.asUintN(64, BigInt(value));
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

/**
 * Builds one protobuf message.
 *
 * @example
 * ```ts
 * const opset = new ProtobufWriter().string(1, '').varint(2, 17);
 * const model = new ProtobufWriter().varint(1, 8).message(8, opset).toBytes();
 * ```
 */
export class ProtobufWriter {
  private readonly pieces: Piece[] = [];
  private pending: number[] = [];
  private flushedBytes = 0;

  /** The encoded length so far, in bytes. */
  get length(): number {
    return this.flushedBytes + this.pending.length;
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    this.pieces.push(Uint8Array.from(this.pending));
    this.flushedBytes += this.pending.length;
    this.pending = [];
  }

  private key(field: number, wire: number): void {
    pushVarint(this.pending, field * 8 + wire);
  }

  /** A varint field (int32, int64, enum, bool): negatives as int64 two's complement. */
  varint(field: number, value: number | bigint | boolean): this {
    this.key(field, 0);
    pushVarint(this.pending, typeof value === 'boolean' ? Number(value) : value);
    return this;
  }

  /** A 32-bit float field (wire type 5). */
  float(field: number, value: number): this {
    this.key(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.pending.push(...bytes);
    return this;
  }

  /** A length-delimited field: bytes, a lazily read {@link ByteRange}, or a nested message. */
  bytes(field: number, payload: Uint8Array | ByteRange | ProtobufWriter): this {
    this.key(field, 2);
    pushVarint(this.pending, payload.length);
    if (payload instanceof ProtobufWriter) {
      payload.flush();
      this.flush();
      this.pieces.push(...payload.pieces);
      this.flushedBytes += payload.length;
    } else if (payload instanceof ByteRange || payload.length > 256) {
      this.flush();
      this.pieces.push(payload);
      this.flushedBytes += payload.length;
    } else {
      for (const byte of payload) this.pending.push(byte);
    }
    return this;
  }

  /** A nested message field (the same as {@link ProtobufWriter.bytes} with a writer). */
  message(field: number, message: ProtobufWriter): this {
    return this.bytes(field, message);
  }

  /** A UTF-8 string field. */
  string(field: number, text: string): this {
    return this.bytes(field, utf8.encode(text));
  }

  /** A packed repeated varint field (ONNX `ints`, `dims` as proto3 writes them); nothing when empty. */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const payload: number[] = [];
    for (const value of values) pushVarint(payload, value);
    return this.bytes(field, Uint8Array.from(payload));
  }

  /** An unpacked repeated varint field: one key per value, as onnx.proto (proto2) writes `dims` and `ints`. */
  repeatedVarints(field: number, values: readonly (number | bigint)[]): this {
    for (const value of values) this.varint(field, value);
    return this;
  }

  /** An unpacked repeated float field, as onnx.proto writes an attribute's `floats`. */
  repeatedFloats(field: number, values: readonly number[]): this {
    for (const value of values) this.float(field, value);
    return this;
  }

  /** A packed repeated float field; nothing when empty. */
  packedFloats(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    return this.bytes(field, new Uint8Array(Float32Array.from(values).buffer));
  }

  /** Already-encoded fields (keys included), appended as they are. */
  raw(encoded: Uint8Array): this {
    this.flush();
    this.pieces.push(encoded);
    this.flushedBytes += encoded.length;
    return this;
  }

  /** Calls `write` with the encoded message in order, reading file ranges piece by piece. */
  forEachPiece(write: (piece: Uint8Array) => void): void {
    this.flush();
    for (const piece of this.pieces) {
      if (piece instanceof ByteRange) piece.forEachPiece(write);
      else write(piece);
    }
  }

  /** The encoded message as one buffer (reads every file range it refers to). */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    this.forEachPiece((piece) => {
      out.set(piece, offset);
      offset += piece.length;
    });
    return out;
  }
}

const utf8 = new TextEncoder();
