/**
 * Where protobuf bytes come from: memory, or a file read through a small window so that a
 * reader can walk a 2 GB model's structure while skipping the payloads it does not want (a
 * tensor's `raw_data` is stepped over by its length, never read).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Random access to a sequence of bytes. */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /**
   * Bytes `[offset, offset + length)`. From memory this is a view; from a file it may be a view
   * of the read window, valid until the next `read`, so copy what you keep.
   */
  read(offset: number, length: number): Uint8Array;
  /** The file path, for a file source (also what lazy byte ranges re-open). */
  readonly path?: string;
  /**
   * A buffer holding at least bytes `[offset, offset + minLength)` (fewer at the end of the data),
   * and the source position of its first byte: lets a reader decode varints without a view per read.
   */
  window(offset: number, minLength: number): { readonly bytes: Uint8Array; readonly start: number };
}

/**
 * A source over bytes already in memory.
 *
 * @example
 * ```ts
 * memorySource(Uint8Array.of(8, 1)).read(0, 2); // Uint8Array [8, 1]
 * ```
 */
export function memorySource(bytes: Uint8Array): ByteSource {
  const whole = { bytes, start: 0 };
  return {
    size: bytes.length,
    window: () => whole,
    read(offset, length) {
      if (offset < 0 || offset + length > bytes.length) throw new RangeError(`truncated protobuf: bytes ${offset}..${offset + length} lie past the end of the data (${bytes.length} bytes)`);
      return bytes.subarray(offset, offset + length);
    },
  };
}

const WINDOW_BYTES = 64 * 1024;

/**
 * A source over an open file, read through one cached window of 64 KiB; a read larger than the
 * window gets its own buffer. Close it with {@link FileSource.close}.
 */
export class FileSource implements ByteSource {
  readonly size: number;
  private buffer: Uint8Array = new Uint8Array(0);
  private bufferStart = 0;
  private fd: number | undefined;

  /**
   * Opens `path` for reading (throws Node's own error when it cannot be opened).
   *
   * @example
   * ```ts
   * const source = new FileSource('unet/model.onnx');
   * try { source.read(0, 16); } finally { source.close(); }
   * ```
   */
  constructor(readonly path: string) {
    const fd = openSync(path, 'r');
    const stat = fstatSync(fd);
    if (stat.isDirectory()) {
      closeSync(fd);
      throw Object.assign(new Error(`EISDIR: ${path} is a directory`), { code: 'EISDIR' });
    }
    this.fd = fd;
    this.size = stat.size;
  }

  read(offset: number, length: number): Uint8Array {
    if (this.fd === undefined) throw new Error(`${this.path} was closed`);
    if (offset < 0 || offset + length > this.size) {
      throw new RangeError(`truncated protobuf: bytes ${offset}..${offset + length} lie past the end of the file (${this.size} bytes)`);
    }
    if (offset >= this.bufferStart && offset + length <= this.bufferStart + this.buffer.length) {
      return this.buffer.subarray(offset - this.bufferStart, offset - this.bufferStart + length);
    }
    if (length > WINDOW_BYTES / 2) return readRange(this.fd, offset, length);
    this.buffer = readRange(this.fd, offset, Math.min(WINDOW_BYTES, this.size - offset));
    this.bufferStart = offset;
    return this.buffer.subarray(0, length);
  }

  window(offset: number, minLength: number): { readonly bytes: Uint8Array; readonly start: number } {
    const length = Math.min(minLength, this.size - offset);
    if (offset < this.bufferStart || offset + length > this.bufferStart + this.buffer.length) this.read(offset, Math.max(0, length));
    return { bytes: this.buffer, start: this.bufferStart };
  }

  /** Closes the file; further reads throw. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function readRange(fd: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const got = readSync(fd, out, done, length - done, offset + done);
    if (got === 0) throw new RangeError(`truncated file: ${length - done} bytes missing at byte ${offset + done}`);
    done += got;
  }
  return out;
}

/**
 * A span of bytes that is read only when asked: a tensor payload left where it lies (in memory or
 * in a file), so that decoding a model and writing it back never holds its weights twice.
 */
export class ByteRange {
  private constructor(
    private readonly bytes: Uint8Array | undefined,
    /** The file the bytes lie in, when they are not in memory. */
    readonly file: string | undefined,
    /** Where they start in that file (0 for bytes in memory). */
    readonly offset: number,
    readonly length: number,
  ) {}

  /**
   * Bytes already in memory (kept as a view, not copied).
   *
   * @example
   * ```ts
   * ByteRange.of(new Uint8Array(Float32Array.of(1, 2).buffer)).length; // 8
   * ```
   */
  static of(bytes: Uint8Array): ByteRange {
    return new ByteRange(bytes, undefined, 0, bytes.length);
  }

  /**
   * `length` bytes at `offset` of `file`, read when {@link ByteRange.read} is called.
   *
   * @example
   * ```ts
   * ByteRange.inFile('text_encoder/model.onnx', 1234, 3072).read(); // 3072 bytes
   * ```
   */
  static inFile(file: string, offset: number, length: number): ByteRange {
    return new ByteRange(undefined, file, offset, length);
  }

  /** A range of `source`: a view when it is in memory, else a lazy range of its file. */
  static fromSource(source: ByteSource, offset: number, length: number): ByteRange {
    if (source.path !== undefined) return ByteRange.inFile(source.path, offset, length);
    if (offset < 0 || offset + length > source.size) throw new RangeError(`truncated protobuf: bytes ${offset}..${offset + length} lie past the end of the data (${source.size} bytes)`);
    const { bytes, start } = source.window(offset, 0); // a memory source's window is all of it: a view, nothing read
    return ByteRange.of(bytes.subarray(offset - start, offset - start + length));
  }

  /** The bytes (a view for bytes in memory, a fresh buffer read from the file otherwise). */
  read(): Uint8Array {
    if (this.bytes) return this.bytes;
    const fd = openSync(this.file!, 'r');
    try {
      return readRange(fd, this.offset, this.length);
    } finally {
      closeSync(fd);
    }
  }

  /** Calls `write` with the bytes in pieces of at most `pieceBytes` (a file range is never read whole). */
  forEachPiece(write: (piece: Uint8Array) => void, pieceBytes = 16 * 1024 * 1024): void {
    if (this.bytes) {
      write(this.bytes);
      return;
    }
    const fd = openSync(this.file!, 'r');
    try {
      for (let done = 0; done < this.length; done += pieceBytes) {
        write(readRange(fd, this.offset + done, Math.min(pieceBytes, this.length - done)));
      }
    } finally {
      closeSync(fd);
    }
  }
}
