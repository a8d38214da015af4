// Development-time reference run of face-api's age/gender net (@vladmandic/face-api 1.7.15: its own TinyXception
// and AgeGenderNet code, its own weight loader) with TF.js's pure-JS CPU backend. Called by
// tools/faceapi_reference.py; never needed to build or run faceapp.
//
//   node run.mjs <crops.bin> <N> <output dir>
//
// crops.bin: N uint8 RGB 112×112×3 face crops, raw. Each goes through face-api's own input path
// (toNetInput → toBatchTensor(112): pad to square, resize (a no-op at 112), cast, subtract the mean RGB, / 255)
// and AgeGenderNet.forwardInput; written: age.bin (N float32), gender.bin (N×2 float32, softmax), out.json.
import fs from 'node:fs';
import path from 'node:path';
import { register } from 'node:module';

register('./tfjs-resolve.mjs', import.meta.url);
const faceapi = await import('@vladmandic/face-api/dist/face-api.esm-nobundle.js');
const tf = await import('@tensorflow/tfjs');

const [cropsFile, count, outDir] = process.argv.slice(2);
const n = Number(count);
await tf.setBackend('cpu');
await tf.ready();

// The package's weights, read and dequantised by TF.js's weights loader exactly as face-api's loadFromDisk does.
const modelDir = path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules', '@vladmandic', 'face-api', 'model');
const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'age_gender_model-weights_manifest.json'), 'utf8'));
const fetchWeights = (paths) => Promise.all(paths.map((p) => {
  const buf = fs.readFileSync(p);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}));
const weightMap = await tf.io.weightsLoaderFactory(fetchWeights)(manifest, modelDir + '/');
const net = new faceapi.AgeGenderNet();
net.loadFromWeightMap(weightMap);

const raw = fs.readFileSync(cropsFile);
const faces = [];
for (let i = 0; i < n; i += 1) {
  const bytes = raw.subarray(i * 112 * 112 * 3, (i + 1) * 112 * 112 * 3);
  faces.push(tf.tensor3d(new Int32Array(bytes), [112, 112, 3], 'int32'));
}
const input = await faceapi.toNetInput(faces);
const out = net.forwardInput(input);
const age = await out.age.data();
const gender = await out.gender.data();
fs.writeFileSync(path.join(outDir, 'age.bin'), Buffer.from(age.buffer, age.byteOffset, age.byteLength));
fs.writeFileSync(path.join(outDir, 'gender.bin'), Buffer.from(gender.buffer, gender.byteOffset, gender.byteLength));
const info = { backend: tf.getBackend(), tfjs: tf.version.tfjs, faceapi: faceapi.version, age: out.age.shape, gender: out.gender.shape };
fs.writeFileSync(path.join(outDir, 'out.json'), JSON.stringify(info));
console.log(JSON.stringify(info));
