import { addonLoadResult } from './load-addon';
import {
  float16ToFloat32,
  float32ToFloat16,
  latentsToRgb8,
  multiHeadAttention,
  type MultiHeadAttentionOptions,
} from './index';

// Every bad input must become a TypeError (wrong kind of value) or RangeError (wrong size or
// value) — from the TypeScript checks and, independently, from the addon's own C++ checks,
// which are exercised here by calling the raw addon directly. The process must never crash.
const { addon, reason } = addonLoadResult();
if (addon === undefined) console.warn(`argument-validation.test: the addon's own checks are not tested: ${reason}`);

/**
 * Errors thrown by the addon are the host realm's TypeError/RangeError, not the jest sandbox's
 * (jest runs each file in its own V8 context), so compare the constructor's name.
 */
function expectThrows(call: () => unknown, type: ErrorConstructor, message: RegExp): void {
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeDefined();
  expect((caught as Error).constructor.name).toBe(type.name);
  expect((caught as Error).message).toMatch(message);
}

const q = new Float32Array(2 * 5 * 3 * 4); // batch 2, N 5, heads 3, d 4
const kv = new Float32Array(2 * 7 * 3 * 4); // Nk 7
const good: MultiHeadAttentionOptions = { batch: 2, heads: 3, headDim: 4 };

describe('multiHeadAttention rejects bad arguments', () => {
  test.each<[string, () => unknown, ErrorConstructor, RegExp]>([
    ['query not a Float32Array', () => multiHeadAttention([1, 2] as never, kv, kv, good), TypeError, /query must be a Float32Array, received an Array/],
    ['key a Float64Array', () => multiHeadAttention(q, new Float64Array(kv.length) as never, kv, good), TypeError, /key must be a Float32Array, received Float64Array/],
    ['value missing', () => multiHeadAttention(q, kv, undefined as never, good), TypeError, /value must be a Float32Array, received undefined/],
    ['options missing', () => multiHeadAttention(q, kv, kv, undefined as never), TypeError, /options must be an object/],
    ['batch a string', () => multiHeadAttention(q, kv, kv, { ...good, batch: '2' as never }), TypeError, /batch must be a number/],
    ['heads 0', () => multiHeadAttention(q, kv, kv, { ...good, heads: 0 }), RangeError, /heads must be an integer from 1/],
    ['headDim 257', () => multiHeadAttention(q, kv, kv, { ...good, headDim: 257 }), RangeError, /headDim must be an integer from 1 to 256, received 257/],
    ['batch 1.5', () => multiHeadAttention(q, kv, kv, { ...good, batch: 1.5 }), RangeError, /batch must be an integer/],
    ['scale NaN', () => multiHeadAttention(q, kv, kv, { ...good, scale: NaN }), RangeError, /scale must be a finite number/],
    ['query length', () => multiHeadAttention(q.subarray(1), kv, kv, good), RangeError, /query has 119 elements, which is not a multiple of batch·heads·headDim = 2·3·4 = 24/],
    ['empty key', () => multiHeadAttention(q, new Float32Array(0), new Float32Array(0), good), RangeError, /key has 0 elements/],
    ['value length', () => multiHeadAttention(q, kv, kv.subarray(24), good), RangeError, /value has 144 elements but key has 168/],
    ['mask type', () => multiHeadAttention(q, kv, kv, { ...good, mask: new Int32Array(14) as never }), TypeError, /mask must be a Uint8Array, received Int32Array/],
    ['mask length', () => multiHeadAttention(q, kv, kv, { ...good, mask: new Uint8Array(7) }), RangeError, /mask has 7 elements; expected batch·keyLength = 14/],
    ['out length', () => multiHeadAttention(q, kv, kv, { ...good, out: new Float32Array(3) }), RangeError, /out has 3 elements but query has 120/],
    ['out aliases key', () => multiHeadAttention(q, kv, kv, { ...good, out: kv.subarray(0, 120) }), RangeError, /out shares memory with an input/],
  ])('%s', (_name, call, type, message) => expectThrows(call, type, message));
});

describe('the element-wise entry points reject bad arguments', () => {
  test.each<[string, () => unknown, ErrorConstructor, RegExp]>([
    ['float32ToFloat16 of a Uint16Array', () => float32ToFloat16(new Uint16Array(3) as never), TypeError, /input must be a Float32Array/],
    ['float16ToFloat32 out length', () => float16ToFloat32(new Uint16Array(3), new Float32Array(2)), RangeError, /out has 2 elements; expected 3/],
    ['latentsToRgb8 length', () => latentsToRgb8(new Float32Array(10), { batch: 1, height: 2, width: 2 }), RangeError, /image has 10 elements; expected 12/],
    ['latentsToRgb8 height 0', () => latentsToRgb8(new Float32Array(0), { batch: 1, height: 0, width: 2 }), RangeError, /height must be an integer from 1/],
  ])('%s', (_name, call, type, message) => expectThrows(call, type, message));
});

const describeNative = addon ? describe : describe.skip;

describeNative("the addon's own checks (called directly, bypassing the TypeScript checks)", () => {
  const raw = addon!;
  const out = new Float32Array(q.length);
  const detached = (): Float32Array => {
    const array = new Float32Array(q.length);
    structuredClone(array.buffer, { transfer: [array.buffer] });
    return array; // length 0 now
  };
  test.each<[string, () => unknown, ErrorConstructor, RegExp]>([
    ['too few arguments', () => (raw.multiHeadAttention as (...a: unknown[]) => unknown)(q, kv, kv), TypeError, /expected 9 arguments/],
    ['query a plain object', () => raw.multiHeadAttention({} as never, kv, kv, out, null, 2, 3, 4, 0.5), TypeError, /query must be a Float32Array, received an object/],
    ['mask a string', () => raw.multiHeadAttention(q, kv, kv, out, 'x' as never, 2, 3, 4, 0.5), TypeError, /keyMask must be a Uint8Array, received a string/],
    ['headDim 0', () => raw.multiHeadAttention(q, kv, kv, out, null, 2, 3, 0, 0.5), RangeError, /headDim must be an integer from 1 to 256/],
    ['batch NaN', () => raw.multiHeadAttention(q, kv, kv, out, null, NaN, 3, 4, 0.5), RangeError, /batch must be an integer/],
    ['heads huge', () => raw.multiHeadAttention(q, kv, kv, out, null, 2, 2 ** 40, 4, 0.5), RangeError, /heads must be an integer/],
    ['scale Infinity', () => raw.multiHeadAttention(q, kv, kv, out, null, 2, 3, 4, Infinity), RangeError, /scale must be a finite number/],
    ['query length', () => raw.multiHeadAttention(q.subarray(3), kv, kv, out, null, 2, 3, 4, 0.5), RangeError, /query has 117 elements/],
    ['value length', () => raw.multiHeadAttention(q, kv, kv.subarray(1), out, null, 2, 3, 4, 0.5), RangeError, /value has 167 elements/],
    ['output length', () => raw.multiHeadAttention(q, kv, kv, out.subarray(1), null, 2, 3, 4, 0.5), RangeError, /output has 119 elements/],
    ['detached output', () => raw.multiHeadAttention(q, kv, kv, detached(), null, 2, 3, 4, 0.5), RangeError, /output has 0 elements/],
    ['mask length', () => raw.multiHeadAttention(q, kv, kv, out, new Uint8Array(3), 2, 3, 4, 0.5), RangeError, /keyMask has 3 elements/],
    ['output is the query', () => raw.multiHeadAttention(q, kv, kv, q, null, 2, 3, 4, 0.5), RangeError, /output shares memory/],
    ['async with a bad length', () => raw.multiHeadAttentionAsync(q, kv, kv, out.subarray(2), null, 2, 3, 4, 0.5), RangeError, /output has 118 elements/],
    ['async too few arguments', () => (raw.multiHeadAttentionAsync as (...a: unknown[]) => unknown)(q, kv, kv, null), TypeError, /multiHeadAttentionAsync: expected 9 arguments/],
    ['async query a Float64Array', () => raw.multiHeadAttentionAsync(new Float64Array(q.length) as never, kv, kv, null, null, 2, 3, 4, 0.5), TypeError, /multiHeadAttentionAsync: query must be a Float32Array, received Float64Array/],
    ['async output a Uint8Array', () => raw.multiHeadAttentionAsync(q, kv, kv, new Uint8Array(480) as never, null, 2, 3, 4, 0.5), TypeError, /output must be a Float32Array, received Uint8Array/],
    ['async output aliases value', () => raw.multiHeadAttentionAsync(q, kv, kv, kv.subarray(0, 120), null, 2, 3, 4, 0.5), RangeError, /output shares memory with an input/],
    ['async headDim 300', () => raw.multiHeadAttentionAsync(q, kv, kv, null, null, 2, 3, 300, 0.5), RangeError, /headDim must be an integer from 1 to 256, received 300/],
    ['async detached query', () => raw.multiHeadAttentionAsync(q, detached(), kv, null, null, 2, 3, 4, 0.5), RangeError, /key has 0 elements/],
    ['async mask length', () => raw.multiHeadAttentionAsync(q, kv, kv, null, new Uint8Array(5), 2, 3, 4, 0.5), RangeError, /keyMask has 5 elements/],
    ['sync refuses a null output', () => raw.multiHeadAttention(q, kv, kv, null as never, null, 2, 3, 4, 0.5), TypeError, /multiHeadAttention: output must be a Float32Array, received null/],
    ['attentionProbabilities arity', () => (raw.attentionProbabilities as unknown as (...a: unknown[]) => unknown)(q, kv), TypeError, /attentionProbabilities: expected 8 arguments/],
    ['attentionProbabilities key a Float64Array', () => raw.attentionProbabilities!(q, new Float64Array(kv.length) as never, new Float32Array(70), null, 2, 3, 4, 0.5), TypeError, /attentionProbabilities: key must be a Float32Array, received Float64Array/],
    ['attentionProbabilities query length', () => raw.attentionProbabilities!(q.subarray(1), kv, new Float32Array(70), null, 2, 3, 4, 0.5), RangeError, /query has 119 elements, which is not a multiple/],
    ['attentionProbabilities empty key', () => raw.attentionProbabilities!(q, new Float32Array(0), new Float32Array(0), null, 2, 3, 4, 0.5), RangeError, /key has 0 elements/],
    ['attentionProbabilities output length', () => raw.attentionProbabilities!(q, kv, new Float32Array(69), null, 2, 3, 4, 0.5), RangeError, /output has 69 elements; expected batch·queryLength·keyLength = 70/],
    ['attentionProbabilities detached output', () => raw.attentionProbabilities!(q, kv, detached(), null, 2, 3, 4, 0.5), RangeError, /output has 0 elements/],
    ['attentionProbabilities mask length', () => raw.attentionProbabilities!(q, kv, new Float32Array(70), new Uint8Array(13), 2, 3, 4, 0.5), RangeError, /keyMask has 13 elements; expected batch·keyLength = 14/],
    ['attentionProbabilities output aliases key', () => raw.attentionProbabilities!(q, kv, kv.subarray(0, 70), null, 2, 3, 4, 0.5), RangeError, /output shares memory with an input/],
    ['attentionProbabilities too many keys', () => raw.attentionProbabilities!(new Float32Array(4), new Float32Array(4 * 1025), new Float32Array(1025), null, 1, 1, 4, 0.5), RangeError, /key length 1025 is above 1024/],
    ['attentionProbabilities headDim 0', () => raw.attentionProbabilities!(q, kv, new Float32Array(70), null, 2, 3, 0, 0.5), RangeError, /headDim must be an integer from 1 to 256/],
    ['attentionProbabilities scale NaN', () => raw.attentionProbabilities!(q, kv, new Float32Array(70), null, 2, 3, 4, NaN), RangeError, /scale must be a finite number/],
    ['guidanceStep arity', () => (raw.guidanceStep as (...a: unknown[]) => unknown)(out), TypeError, /expected 10 arguments/],
    ['guidanceStep uncond length', () => raw.guidanceStep(out, null, out, q.subarray(1), null, null, 7.5, 1, 1, 0), RangeError, /uncond has 119 elements; expected 120/],
    ['guidanceStep guided aliases output', () => raw.guidanceStep(out, out, q, q, null, null, 7.5, 1, 1, 0), RangeError, /guidedOutput shares memory with output/],
    ['float16 output type', () => raw.float32ToFloat16(q, new Int16Array(q.length) as never), TypeError, /output must be a Uint16Array, received Int16Array/],
    ['float16 overlap', () => {
      const bytes = new ArrayBuffer(64);
      return raw.float16ToFloat32(new Uint16Array(bytes, 0, 8), new Float32Array(bytes, 0, 8));
    }, RangeError, /shares memory/],
    ['rgb8 overflowing sizes', () => raw.latentsToRgb8(q, new Uint8Array(3), 2 ** 31, 2 ** 31, 2 ** 31), RangeError, /more elements than an array can hold/],
    ['rgb8 output length', () => raw.latentsToRgb8(new Float32Array(12), new Uint8Array(11), 1, 2, 2), RangeError, /output has 11 elements; expected 12/],
    ['cudaMultiHeadAttention mixed types', () => raw.cudaMultiHeadAttention(q, new Uint16Array(kv.length) as never, kv, out, null, 2, 3, 4, 0.5), TypeError, /key must be a Float32Array/],
  ])('%s', (_name, call, type, message) => expectThrows(call, type, message));

  test('async: a bad argument throws synchronously, before anything is queued', () => {
    const before = raw.describeBuild().pendingAsyncCalls;
    expect(() => raw.multiHeadAttentionAsync(q, kv, kv, null, null, 2, 3, 0, 0.5)).toThrow(/headDim/);
    expect(raw.describeBuild().pendingAsyncCalls).toBe(before);
  });

  test('async: without an output the addon allocates the result; with one it resolves with that array', async () => {
    const expected = raw.multiHeadAttention(q, kv, kv, new Float32Array(q.length), null, 2, 3, 4, 0.5);
    const fresh = await raw.multiHeadAttentionAsync(q, kv, kv, null, null, 2, 3, 4, 0.5);
    expect(fresh.constructor.name).toBe('Float32Array');
    expect(Array.from(fresh)).toEqual(Array.from(expected));
    const given = new Float32Array(q.length);
    expect(await raw.multiHeadAttentionAsync(q, kv, kv, given, null, 2, 3, 4, 0.5)).toBe(given);
    expect(Array.from(given)).toEqual(Array.from(expected));
    const empty = await raw.multiHeadAttentionAsync(new Float32Array(0), kv, kv, null, null, 2, 3, 4, 0.5);
    expect(empty.length).toBe(0);
    expect(raw.describeBuild().pendingAsyncCalls).toBe(0);
  });

  test('async: an output transferred during the call rejects with a TypeError naming the fix', async () => {
    const given = new Float32Array(q.length);
    const promise = raw.multiHeadAttentionAsync(q, kv, kv, given, null, 2, 3, 4, 0.5);
    structuredClone(given.buffer, { transfer: [given.buffer as ArrayBuffer] });
    const error = await promise.then(() => undefined, (e: unknown) => e as Error);
    expect(error?.constructor.name).toBe('TypeError');
    expect(error?.message).toMatch(/options\.out\)'s ArrayBuffer was detached \(transferred\).*480 bytes expected, 0 found.*keep .* attached until the promise settles/);
  });

  test('a SharedArrayBuffer-backed input works', () => {
    const shared = new Float32Array(new SharedArrayBuffer(q.byteLength));
    shared.set(q);
    expect(raw.multiHeadAttention(shared, kv, kv, out, null, 2, 3, 4, 0.5)).toBe(out);
  });
});
