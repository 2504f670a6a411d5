// Reference outputs of face-api's AgeGenderNet, computed by its own
// JavaScript runtime, for tools/convert_faceapi_age_gender.py.
//
// Runs `@vladmandic/face-api` 1.7.15 (dist/face-api.node-wasm.js, its
// Node build on the npm tfjs 4.22.0 it names) on tfjs's pure-JS `cpu`
// backend: no native tfjs-node binary. face-api's own SSD MobileNet v1
// detector finds the faces, face-api's own `extractFaceTensors` cuts them,
// and each crop is made square and 112x112 as AgeGenderNet makes its input
// (`padToSquare` centred, `resizeBilinear`), then rounded to 0..255 so the
// crop can be stored as uint8 and fed unchanged to both runtimes. Chosen
// images also get jittered copies of their first face box.
//
// Setup (tooling only, never a dependency of mtlzoo):
//   mkdir -p /tmp/faceapi && cd /tmp/faceapi
//   npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-*.tgz
//   npm install @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0
// Usage:
//   NODE_PATH=/tmp/faceapi/node_modules node tools/faceapi_reference.js \
//       /tmp/faceapi/package WORK
// WORK/images.json lists {name, file, height, width, jitter} (file: raw
// uint8 RGB, row-major); writes WORK/crops.bin (N x 112 x 112 x 3 uint8)
// and WORK/reference.json (names, boxes, age, gender, timings).

'use strict';

const fs = require('fs');
const path = require('path');

const SIZE = 112;

function jitterBoxes(box, count, seed) {
  // mulberry32: a small seeded generator, so the crops are reproducible.
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [];
  for (let i = 0; i < count; i += 1) {
    const dx = (random() - 0.5) * 0.2 * box.width;
    const dy = (random() - 0.5) * 0.2 * box.height;
    const scale = 0.9 + random() * 0.25;
    const width = box.width * scale;
    const height = box.height * scale;
    out.push({
      x: box.x + box.width / 2 + dx - width / 2,
      y: box.y + box.height / 2 + dy - height / 2,
      width,
      height,
    });
  }
  return out;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main() {
  const [packageDir, work] = process.argv.slice(2);
  if (!packageDir || !work) {
    throw new Error('usage: node faceapi_reference.js PACKAGE_DIR WORK_DIR');
  }
  const faceapi = require(path.resolve(packageDir, 'dist/face-api.node-wasm.js'));
  const { tf } = faceapi;
  await tf.setBackend('cpu');
  await tf.ready();
  const modelDir = path.resolve(packageDir, 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.ageGenderNet.loadFromDisk(modelDir);
  const net = faceapi.nets.ageGenderNet;

  const images = JSON.parse(fs.readFileSync(path.join(work, 'images.json')));
  const names = [];
  const boxes = [];
  const kinds = [];
  const crops = [];
  for (const spec of images) {
    const raw = fs.readFileSync(path.join(work, spec.file));
    const image = tf.tensor3d(new Uint8Array(raw), [spec.height, spec.width, 3], 'int32');
    const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5, maxResults: 8 });
    const found = await faceapi.detectAllFaces(image, options);
    found.sort((a, b) => b.score - a.score);
    const faces = found.map((d) => d.box);
    const jittered = faces.length ? jitterBoxes(faces[0], spec.jitter || 0, 16) : [];
    const all = faces.map((b) => [b, 'detected']).concat(jittered.map((b) => [b, 'jittered']));
    const rects = all.map(([b]) => new faceapi.Rect(b.x, b.y, b.width, b.height));
    const tensors = await faceapi.extractFaceTensors(image, rects);
    tensors.forEach((face, i) => {
      const crop = tf.tidy(() => {
        let x = faceapi.padToSquare(tf.expandDims(tf.cast(face, 'float32')), true);
        x = tf.image.resizeBilinear(x, [SIZE, SIZE], false, false);
        return tf.cast(tf.clipByValue(tf.round(x), 0, 255), 'int32').squeeze([0]);
      });
      crops.push(crop);
      const b = all[i][0];
      names.push(spec.name);
      kinds.push(all[i][1]);
      boxes.push([b.x, b.y, b.width, b.height].map((v) => Math.round(v * 100) / 100));
      face.dispose();
    });
    image.dispose();
  }
  if (!crops.length) throw new Error('no faces found');

  const inputs = crops.map((c) => tf.cast(c, 'float32'));
  const out = await net.forward(inputs);
  const age = Array.from(out.age.dataSync());
  const gender = out.gender.arraySync();
  const labelled = await net.predictAgeAndGender(inputs);

  // Latency: one crop a call, as face-api runs a detected face; median of
  // 3 runs of the mean time per crop, after one warm-up call.
  const time = async () => {
    const start = process.hrtime.bigint();
    for (const x of inputs) {
      const result = await net.forward([x]);
      result.age.dataSync();
      result.gender.dataSync();
      result.age.dispose();
      result.gender.dispose();
    }
    return Number(process.hrtime.bigint() - start) / 1e6 / inputs.length;
  };
  await time();
  const runs = [await time(), await time(), await time()];

  const bytes = new Uint8Array(crops.length * SIZE * SIZE * 3);
  crops.forEach((c, i) => bytes.set(c.dataSync(), i * SIZE * SIZE * 3));
  fs.writeFileSync(path.join(work, 'crops.bin'), bytes);
  const reference = {
    runtime: `@vladmandic/face-api ${faceapi.version} (dist/face-api.node-wasm.js), tfjs ${tf.version.tfjs} backend ${tf.getBackend()}, node ${process.version}`,
    names,
    kinds,
    boxes,
    age,
    gender,
    labels: labelled.map((r) => [r.gender, r.genderProbability, r.age]),
    latency_ms_per_image: median(runs),
    latency_runs: runs,
  };
  fs.writeFileSync(path.join(work, 'reference.json'), JSON.stringify(reference));
  console.log(JSON.stringify({ crops: crops.length, latency: reference.latency_ms_per_image }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
