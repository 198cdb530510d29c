'use strict';
// Jest runs each test file in its own V8 context, whose typed-array constructors differ from
// the host's. Arrays made by native code (onnxruntime-node, @latentkit/native) are host arrays, so
// `x instanceof Float32Array` would be false inside the sandbox. Sharing the host's constructors
// keeps instanceof checks honest in tests exactly as they are in production.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Buffer',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class HostTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (name in globalThis) this.global[name] = globalThis[name];
    }
  }
}

module.exports = HostTypedArrayEnvironment;
