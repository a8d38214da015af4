// Module resolve hook (registered by run.mjs): face-api's un-bundled ESM build imports
// `@tensorflow/<pkg>/dist/index.js`, TF.js's ES-module sources, whose own imports lack file extensions and so do not
// load in Node. Point those three imports at the packages' CommonJS builds (their `main`), which do load and share
// one @tensorflow/tfjs-core instance. Nothing else is changed.
const PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgl'];

export async function resolve(specifier, context, nextResolve) {
  for (const name of PACKAGES) {
    if (specifier === `${name}/dist/index.js`) return nextResolve(name, context);
  }
  return nextResolve(specifier, context);
}
