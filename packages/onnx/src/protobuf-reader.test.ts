import { protobufText, readProtobufFields, readVarint } from './protobuf-reader';

describe('protobuf fields', () => {
  it('reads varints', () => {
    expect(readVarint(Uint8Array.of(0x01), 0)).toEqual([1, 1]);
    expect(readVarint(Uint8Array.of(0xac, 0x02), 0)).toEqual([300, 2]);
    expect(() => readVarint(Uint8Array.of(0x80), 0)).toThrow('truncated protobuf: a varint runs past the end of the data');
  });

  it('lists fields of every wire type with their payloads', () => {
    // field 1 varint 150; field 2 string "hi"; field 3 fixed32; field 4 fixed64
    const bytes = Uint8Array.of(0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69, 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8);
    const fields = readProtobufFields(bytes);
    expect(fields.map((f) => [f.number, f.wire, f.keyStart, f.start, f.end])).toEqual([
      [1, 0, 0, 1, 3],
      [2, 2, 3, 5, 7],
      [3, 5, 7, 8, 12],
      [4, 1, 12, 13, 21],
    ]);
    expect(readVarint(bytes, fields[0]!.start)[0]).toBe(150);
    expect(protobufText(bytes, fields[1]!)).toBe('hi');
  });

  it('refuses wire types ONNX does not use and truncated messages', () => {
    expect(() => readProtobufFields(Uint8Array.of(0x0b))).toThrow('unsupported protobuf wire type 3 at byte 0');
    expect(() => readProtobufFields(Uint8Array.of(0x12, 0x05, 0x68))).toThrow('truncated protobuf: field 2 at byte 0 runs past the end of its message');
  });
});
