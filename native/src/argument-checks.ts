/**
 * Argument checks shared by the TypeScript entry points. They throw the same `TypeError` /
 * `RangeError` with the same wording as the addon's own checks (src/argument-checks.h), so a
 * caller sees one behaviour whichever path serves the call.
 */

/**
 * A short description of a received value, for error messages.
 *
 * @example
 * ```ts
 * describeValue(new Int8Array(2)); // 'Int8Array'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return 'an Array';
  if (typeof value === 'number') return `the number ${String(value)}`;
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'function') return 'a function';
  return 'an object';
}

type TypedArrayConstructor = typeof Float32Array | typeof Uint16Array | typeof Uint8Array;

/**
 * Throws a TypeError unless `value` is an instance of `type`.
 *
 * @example
 * ```ts
 * const q = requireArray('f', 'query', value, Float32Array);
 * ```
 */
export function requireArray<T extends TypedArrayConstructor>(
  functionName: string, name: string, value: unknown, type: T,
): InstanceType<T> {
  if (!(value instanceof type)) {
    throw new TypeError(`${functionName}: ${name} must be a ${type.name}, received ${describeValue(value)}`);
  }
  return value as InstanceType<T>;
}

/**
 * Throws unless `value` is a whole number in [minimum, maximum].
 *
 * @example
 * ```ts
 * const heads = requireInteger('f', 'heads', options.heads, 1, 2 ** 20);
 * ```
 */
export function requireInteger(functionName: string, name: string, value: unknown, minimum: number, maximum: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${functionName}: ${name} must be a number, received ${describeValue(value)}`);
  }
  if (!Number.isInteger(value) || value < minimum || value > maximum) {
    throw new RangeError(`${functionName}: ${name} must be an integer from ${minimum} to ${maximum}, received ${value}`);
  }
  return value;
}

/**
 * Throws unless `value` is a finite number.
 *
 * @example
 * ```ts
 * const scale = requireFiniteNumber('f', 'scale', options.scale);
 * ```
 */
export function requireFiniteNumber(functionName: string, name: string, value: unknown): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${functionName}: ${name} must be a number, received ${describeValue(value)}`);
  }
  if (!Number.isFinite(value)) {
    throw new RangeError(`${functionName}: ${name} must be a finite number, received ${value}`);
  }
  return value;
}

/**
 * Throws a RangeError unless `array` has `expected` elements.
 *
 * @example
 * ```ts
 * requireLength('f', 'out', out, q.length, 'the length of query');
 * ```
 */
export function requireLength(functionName: string, name: string, array: ArrayLike<number>, expected: number, what: string): void {
  if (array.length !== expected) {
    throw new RangeError(`${functionName}: ${name} has ${array.length} elements; expected ${expected} (${what})`);
  }
}

/**
 * True when two views share at least one byte.
 *
 * @example
 * ```ts
 * sharesMemory(buffer.subarray(0, 8), buffer.subarray(4)); // true
 * ```
 */
export function sharesMemory(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return (
    a.buffer === b.buffer &&
    a.byteLength > 0 &&
    b.byteLength > 0 &&
    a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength
  );
}

/**
 * For element-wise kernels: `output` may be `input` itself but must not partly overlap it.
 *
 * @example
 * ```ts
 * requireElementwiseAlias('f', 'out', out, 'sample', sample); // out === sample is fine
 * ```
 */
export function requireElementwiseAlias(
  functionName: string, outputName: string, output: ArrayBufferView, inputName: string, input: ArrayBufferView,
): void {
  if (sharesMemory(output, input) && output.byteOffset !== input.byteOffset) {
    throw new RangeError(
      `${functionName}: ${outputName} partly overlaps ${inputName}; pass the same array (in place) or separate memory`,
    );
  }
}
