// Compare exported ONNX models (onnxruntime-node) against torch outputs written by export.py.
// usage: node tools/train-tiny/check_onnx.js <modelDir> <checkDir>
const fs = require('fs');
const path = require('path');
function loadOrt() {
  const tries = ['onnxruntime-node', path.join(process.cwd(), 'node_modules/onnxruntime-node')];
  const pnpm = path.join(process.cwd(), 'node_modules/.pnpm');
  if (fs.existsSync(pnpm)) for (const d of fs.readdirSync(pnpm)) if (d.startsWith('onnxruntime-node@')) tries.push(path.join(pnpm, d, 'node_modules/onnxruntime-node'));
  for (const t of tries) { try { return require(t); } catch (e) { /* next */ } }
  console.log('onnxruntime-node not available: skipped'); process.exit(0);
}
const ort = loadOrt();
const [modelDir, checkDir] = process.argv.slice(2);
const manifest = JSON.parse(fs.readFileSync(path.join(checkDir, 'manifest.json'), 'utf8'));
const ctor = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array };
(async () => {
  let bad = 0;
  for (const [name, cases] of Object.entries(manifest)) {
    const sess = await ort.InferenceSession.create(path.join(modelDir, name, 'model.onnx'));
    const desc = `${name}: in [${sess.inputNames.join(', ')}] out [${sess.outputNames.join(', ')}]`;
    for (const c of cases) {
      const feeds = {};
      for (const i of c.inputs) {
        const buf = fs.readFileSync(path.join(checkDir, i.file));
        const C = ctor[i.dtype];
        const arr = new C(buf.buffer, buf.byteOffset, buf.byteLength / C.BYTES_PER_ELEMENT);
        feeds[i.name] = new ort.Tensor(i.dtype, C.from(arr), i.shape);
      }
      const res = await sess.run(feeds);
      const diffs = [];
      for (const o of c.outputs) {
        const buf = fs.readFileSync(path.join(checkDir, o.file));
        const ref = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        const got = res[o.name];
        let m = 0;
        for (let k = 0; k < ref.length; k++) m = Math.max(m, Math.abs(ref[k] - got.data[k]));
        diffs.push(`${o.name} ${got.type}[${got.dims}] maxdiff=${m.toExponential(2)}`);
        if (!(m < 1e-4) || got.dims.join() !== o.shape.join()) bad++;
      }
      console.log(desc, '|', diffs.join('; '));
    }
  }
  console.log(bad ? `FAILED ${bad}` : 'all ONNX outputs match torch');
  process.exit(bad ? 1 : 0);
})();
