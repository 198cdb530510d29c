/**
 * Token ids as the typed arrays an ONNX text encoder is fed: `input_ids`, `attention_mask` and
 * `token_type_ids` are int32 or int64 tensors, whichever the export declares.
 */

/** The element type of an integer input of a text-encoder graph. */
export type TokenIdType = 'int32' | 'int64';

/**
 * The rows laid out row-major in one `[rows, length]` buffer of the given type; a row shorter
 * than `length` is padded with 0 (the value of an absent `token_type_ids` or a masked position).
 * The caller validates the ids: this only lays them out.
 *
 * @example
 * ```ts
 * tokenIdData('int64', [[49406, 320, 49407]], 4); // BigInt64Array [49406n, 320n, 49407n, 0n]
 * ```
 */
export function tokenIdData(type: TokenIdType, rows: readonly (readonly number[])[], length: number): Int32Array | BigInt64Array {
  const data = type === 'int64' ? new BigInt64Array(rows.length * length) : new Int32Array(rows.length * length);
  rows.forEach((row, r) => {
    for (let i = 0; i < length; i++) {
      if (data instanceof BigInt64Array) data[r * length + i] = BigInt(row[i] ?? 0);
      else data[r * length + i] = row[i] ?? 0;
    }
  });
  return data;
}
