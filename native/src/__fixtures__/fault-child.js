'use strict';
// One fault scenario against the raw addon, run in a child process by src/fault-safety.test.ts so
// that a crash (SIGABRT, SIGSEGV) fails that test instead of killing jest. Usage:
//   node [--expose-gc] fault-child.js <path to latentkit_native.node> <scenario>
// A scenario prints `ok <details>` as its last line and exits 0; anything else is a failure.
// Plain JavaScript (no build step), CommonJS, so it also runs in worker threads via `eval`.
const { Worker } = require('node:worker_threads');

const [addonPath, scenario] = process.argv.slice(2);
const addon = require(addonPath);

const gc = typeof globalThis.gc === 'function' ? globalThis.gc : () => {};

/** A self-attention problem big enough to run for a while on any machine (tens of ms and up). */
function bigProblem(tokens = 2048, heads = 8, headDim = 64) {
  const query = new Float32Array(tokens * heads * headDim);
  for (let i = 0; i < query.length; i++) query[i] = Math.sin(i * 0.37) * 0.5;
  return { query, batch: 1, heads, headDim, scale: 1 / Math.sqrt(headDim) };
}

/** A small problem with distinct q, k, v and a mask, for exact comparisons. */
function smallProblem() {
  const batch = 2, queryLength = 33, keyLength = 17, heads = 3, headDim = 8;
  const fill = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.91 + seed));
  return {
    query: fill(batch * queryLength * heads * headDim, 1),
    key: fill(batch * keyLength * heads * headDim, 2),
    value: fill(batch * keyLength * heads * headDim, 3),
    mask: Uint8Array.from({ length: batch * keyLength }, (_, i) => (i % 5 === 4 ? 0 : 1)),
    batch, heads, headDim, scale: 1 / Math.sqrt(headDim),
  };
}

function reference(p) {
  const out = new Float32Array(p.query.length);
  addon.multiHeadAttention(p.query.slice(), p.key.slice(), p.value.slice(), out, p.mask.slice(), p.batch, p.heads, p.headDim, p.scale);
  return out;
}

function same(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

function transfer(buffer) {
  structuredClone(buffer, { transfer: [buffer] });
}

function fail(message) {
  console.log(`FAIL ${message}`);
  process.exit(1);
}

/**
 * Code run inside each worker: loads the addon, starts `calls` asynchronous attention calls (and,
 * with `sync`, keeps calling the synchronous functions), then tells the parent it is mid-call;
 * `exitCode` makes it call process.exit itself instead of waiting to be terminated.
 */
const workerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  const addon = require(workerData.addonPath);
  const { tokens, calls, exitCode, sync } = workerData;
  const heads = 8, headDim = 64;
  const query = new Float32Array(tokens * heads * headDim).fill(0.1);
  const pending = [];
  for (let c = 0; c < calls; c++) {
    const out = c % 2 === 0 ? null : new Float32Array(query.length);
    pending.push(addon.multiHeadAttentionAsync(query, query, query, out, null, 1, heads, headDim, 0.125));
  }
  if (sync) {
    const x = new Float32Array(1 << 16).fill(0.5), y = new Float32Array(x.length), h = new Uint16Array(x.length);
    const rgb = new Uint8Array(3 * 64 * 64), img = new Float32Array(3 * 64 * 64);
    const spin = () => {
      addon.guidanceStep(y, null, x, x, x, null, 7.5, 1, -0.5, 0);
      addon.float16ToFloat32(addon.float32ToFloat16(x, h), y);
      addon.latentsToRgb8(img, rgb, 1, 64, 64);
      addon.multiHeadAttention(x.subarray(0, 64 * 64), x.subarray(0, 64 * 64), x.subarray(0, 64 * 64), y.subarray(0, 64 * 64), null, 1, 8, 8, 0.35);
      setImmediate(spin);
    };
    spin();
  }
  parentPort.postMessage('started');
  if (exitCode !== undefined) process.exit(exitCode);
  Promise.all(pending).then(() => parentPort.postMessage('settled'));
`;

function startWorker(options) {
  return new Worker(workerSource, { eval: true, workerData: { addonPath, tokens: 2048, calls: 2, ...options } });
}

function once(worker, event) {
  return new Promise((resolve) => worker.once(event, resolve));
}

const scenarios = {
  /** The first crash: terminate a worker while its async call runs. */
  async 'worker-terminate'() {
    const worker = startWorker({});
    await once(worker, 'message');
    const code = await worker.terminate();
    return `terminated with code ${code}`;
  },

  /** Many workers at once, each with calls in flight (and sync calls spinning), all terminated mid-call. */
  async 'many-workers-terminate'() {
    const workers = Array.from({ length: 8 }, (_, i) => startWorker({ calls: 2, sync: i % 2 === 0, tokens: 512 }));
    await Promise.all(workers.map((w) => once(w, 'message')));
    const codes = await Promise.all(workers.map((w) => w.terminate()));
    return `terminated ${codes.length} workers`;
  },

  /** Terminate at random moments: before, during and after the calls, over several rounds. */
  async 'random-terminate'() {
    let rounds = 0;
    for (let round = 0; round < 6; round++) {
      const workers = Array.from({ length: 4 }, () => startWorker({ calls: 2, sync: true, tokens: 512 }));
      await new Promise((resolve) => setTimeout(resolve, (round * 17) % 60));
      await Promise.all(workers.map((w) => w.terminate()));
      rounds++;
    }
    return `${rounds} rounds`;
  },

  /** process.exit inside the worker while its calls run: the worker ends with that code, the process lives. */
  async 'worker-process-exit'() {
    const workers = Array.from({ length: 4 }, () => startWorker({ exitCode: 7, sync: true, tokens: 512 }));
    const codes = await Promise.all(workers.map((w) => once(w, 'exit')));
    if (!codes.every((code) => code === 7)) fail(`worker exit codes ${codes}`);
    return `workers exited with ${codes.join(',')}`;
  },

  /**
   * The addon loaded only by workers: when the last one goes, Node dlcloses it while the kernel
   * pool's threads still exist. A later worker must load it again and compute correctly.
   */
  async 'worker-only-reload'() {
    for (let round = 0; round < 3; round++) {
      const worker = startWorker({ tokens: 512 });
      await once(worker, 'message');
      await worker.terminate();
    }
    const worker = startWorker({ tokens: 256 });
    const messages = [];
    worker.on('message', (message) => messages.push(message));
    await new Promise((resolve) => worker.on('message', (m) => m === 'settled' && resolve()));
    await worker.terminate();
    return `reloaded and settled (${messages.join(',')})`;
  },

  /** process.exit on the main thread with calls in flight. */
  async 'main-exit-pending'() {
    const p = bigProblem();
    for (let c = 0; c < 4; c++) addon.multiHeadAttentionAsync(p.query, p.query, p.query, null, null, p.batch, p.heads, p.headDim, p.scale);
    console.log('ok exiting with calls in flight');
    process.exit(0);
  },

  /** The issue's second crash: transfer `out`'s buffer while the call writes to it, then collect it. */
  async 'detach-output'() {
    let rejected = 0;
    let message = '';
    for (let t = 0; t < 20; t++) {
      const p = bigProblem(512);
      const out = new Float32Array(p.query.length);
      const promise = addon.multiHeadAttentionAsync(p.query, p.query, p.query, out, null, p.batch, p.heads, p.headDim, p.scale);
      transfer(out.buffer);
      gc();
      try {
        await promise;
      } catch (error) {
        if (error.constructor.name !== 'TypeError') fail(`expected a TypeError, got ${error}`);
        message = error.message;
        rejected++;
      }
    }
    if (rejected !== 20) fail(`${rejected} of 20 calls rejected`);
    if (!/detached \(transferred\)/.test(message)) fail(`unexpected message: ${message}`);
    return `20 rejected: ${message}`;
  },

  /** Shrinking a resizable ArrayBuffer under `out` is refused the same way. */
  async 'resize-output'() {
    const p = smallProblem();
    const buffer = new ArrayBuffer(p.query.byteLength, { maxByteLength: p.query.byteLength });
    const out = new Float32Array(buffer); // length-tracking
    const promise = addon.multiHeadAttentionAsync(p.query, p.key, p.value, out, p.mask, p.batch, p.heads, p.headDim, p.scale);
    buffer.resize(16);
    const error = await promise.then(() => null, (e) => e);
    if (error === null || error.constructor.name !== 'TypeError') fail(`expected a TypeError, got ${error}`);
    return `rejected: ${error.message}`;
  },

  /**
   * Transfer each input (and the mask) right after the call and collect it: the call computes on
   * the values it was given, bit for bit.
   */
  async 'detach-inputs'() {
    const expected = reference(smallProblem());
    let checked = 0;
    for (const name of ['query', 'key', 'value', 'mask', 'all']) {
      for (let t = 0; t < 5; t++) {
        const p = smallProblem();
        const promise = addon.multiHeadAttentionAsync(p.query, p.key, p.value, null, p.mask, p.batch, p.heads, p.headDim, p.scale);
        for (const input of name === 'all' ? ['query', 'key', 'value', 'mask'] : [name]) transfer(p[input].buffer);
        gc();
        const out = await promise;
        if (!same(out, expected)) fail(`result changed after transferring ${name}`);
        checked++;
      }
    }
    // Self-attention with q = k = v (one shared copy), transferred mid-call.
    const big = bigProblem(512);
    const selfExpected = new Float32Array(big.query.length);
    addon.multiHeadAttention(big.query, big.query, big.query, selfExpected, null, big.batch, big.heads, big.headDim, big.scale);
    const promise = addon.multiHeadAttentionAsync(big.query, big.query, big.query, null, null, big.batch, big.heads, big.headDim, big.scale);
    transfer(big.query.buffer);
    gc();
    if (!same(await promise, selfExpected)) fail('self-attention result changed after transferring q = k = v');
    return `${checked + 1} calls unaffected`;
  },

  /** Writing the inputs after the call does not change its result either (the call took a copy). */
  async 'mutate-inputs'() {
    const expected = reference(smallProblem());
    const p = smallProblem();
    const out = new Float32Array(p.query.length);
    const promise = addon.multiHeadAttentionAsync(p.query, p.key, p.value, out, p.mask, p.batch, p.heads, p.headDim, p.scale);
    p.query.fill(NaN); p.key.fill(NaN); p.value.fill(NaN); p.mask.fill(0);
    const result = await promise;
    if (result !== out) fail('the promise did not resolve with options.out itself');
    if (!same(out, expected)) fail('result changed after writing the inputs');
    return 'result unaffected, resolved with out';
  },

  /** Inputs and output on SharedArrayBuffers are used in place and give the same result. */
  async 'shared-buffers'() {
    const p = smallProblem();
    const expected = reference(p);
    const share = (array) => {
      const copy = new array.constructor(new SharedArrayBuffer(array.byteLength));
      copy.set(array);
      return copy;
    };
    const out = share(new Float32Array(p.query.length));
    const result = await addon.multiHeadAttentionAsync(share(p.query), share(p.key), share(p.value), out, share(p.mask), p.batch, p.heads, p.headDim, p.scale);
    if (result !== out || !same(out, expected)) fail('SharedArrayBuffer result differs');
    return 'shared buffers in place, same result';
  },

  /** Many calls in flight whose arrays nobody else references, under repeated collection. */
  async 'gc-pressure'() {
    const expected = reference(smallProblem());
    const pending = [];
    for (let c = 0; c < 64; c++) {
      const p = smallProblem();
      const out = c % 2 === 0 ? null : new Float32Array(p.query.length);
      pending.push(addon.multiHeadAttentionAsync(p.query, p.key, p.value, out, p.mask, p.batch, p.heads, p.headDim, p.scale));
      if (c % 8 === 0) gc();
    }
    for (let c = 0; c < 8; c++) {
      gc();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await Promise.all(pending);
    if (!results.every((r) => same(r, expected))) fail('a result differs under gc pressure');
    const left = addon.describeBuild().pendingAsyncCalls;
    if (left !== 0) fail(`${left} calls still counted as pending`);
    return '64 calls correct, none pending';
  },
};

const run = scenarios[scenario];
if (run === undefined) fail(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(', ')}`);
run().then(
  (detail) => console.log(`ok ${detail}`),
  (error) => fail(error && error.stack ? error.stack : String(error)),
);
