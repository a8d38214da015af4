"""The face attribute and liveness models: what each expects (crop, size, colour order, scaling) and what
its outputs mean. Each preparation is taken from the model's own source (docs/models.md cites them).

Every model reads the same canonical **face region** (``face_region``): a square centred on the detector's
box, ``REGION_SCALE`` times the box's longer side, at most ``REGION_MAX`` pixels (borders replicated where it
leaves the image). A model cuts its own square from the region's centre (``crop_scale`` × the box side,
shifted down by ``crop_shift`` × the box side), resizes it to its input size and scales the pixels.
Keeping the region as the one input makes the attributes a plain function of a face crop that any
caller (API, cameras, sightings) can store and pass in again.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from .types import Detection

REGION_SCALE = 2.0
REGION_MAX = 448
GREY = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)  # the grey of the sources (MATLAB rgb2gray)
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # FER-2013's label order
GEAR_AGE_GROUPS = ((0, 20), (21, 25), (26, 30), (31, 40), (41, 50), (51, 60), (61, 100))
GEAR_AGE_CENTRES = np.array([15.0, 23.0, 28.0, 35.5, 45.5, 55.5, 65.0], dtype=np.float32)
VGG_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)
FACEAPI_MEAN_RGB = np.array([122.782, 117.001, 104.298], dtype=np.float32)  # face-api's TinyXception.forwardInput


@dataclass(frozen=True)
class AttributeModel:
    name: str  # the value of the FACEAPP_*_MODEL settings
    onnx: str  # the built model's name (models/<onnx>.onnx)
    provides: tuple[str, ...]  # "gender", "age", "emotion", "liveness"
    input_size: int
    colour: str  # "grey", "rgb" or "bgr"
    scaling: str  # "unit" [0, 1], "signed" [-1, 1], "byte" [0, 255], "vgg" BGR minus the VGG means,
    #               "faceapi" (RGB minus face-api's mean RGB) / 255
    crop_scale: float  # the model's square, in box sides
    decode: Callable[[dict[str, np.ndarray]], list[dict]]
    non_commercial: bool  # True: used only with FACEAPP_ACCEPT_NONCOMMERCIAL_MODELS=1
    licence: str
    crop_shift: float = 0.0  # downward shift of the square's centre, in box sides
    description: str = ""


def face_region(image: np.ndarray, detection: Detection) -> np.ndarray:
    """The canonical face region: square, REGION_SCALE × the box's longer side, centred on the box, ≤ REGION_MAX px."""
    x1, y1, x2, y2 = detection.box
    side = max(x2 - x1, y2 - y1) * REGION_SCALE
    if side < 1:
        raise ValueError("the face box is empty")
    centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
    out = int(min(REGION_MAX, max(8, round(side))))
    scale = out / side
    # An affine warp cuts and resizes in one step and fills what lies outside the image from its border.
    matrix = np.array([[scale, 0, out / 2 - centre_x * scale], [0, scale, out / 2 - centre_y * scale]], dtype=np.float64)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(image, matrix, (out, out), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)


def region_from_crop(crop: np.ndarray, box_fraction: float) -> np.ndarray:
    """A face region from a stored square crop centred on the box, in which the box spans `box_fraction` of the side
    (FaceNet's 160×160 crops: 128/160, recognition.align; their box was stretched square). What lies beyond the
    crop is filled from its border, so models whose square reaches past it (crop_scale above 1 / box_fraction)
    see replicated edges there."""
    side = crop.shape[0]
    region_side = side * box_fraction * REGION_SCALE
    out = int(min(REGION_MAX, max(8, round(region_side))))
    scale = out / region_side
    matrix = np.array([[scale, 0, out / 2 - side / 2 * scale], [0, scale, out / 2 - side / 2 * scale]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(crop, matrix, (out, out), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)


def model_crop(region: np.ndarray, model: AttributeModel) -> np.ndarray:
    """A face region (uint8 RGB) → the model's square, resized to its input size (uint8 RGB)."""
    size, side = model.input_size, region.shape[0]
    box_side = side / REGION_SCALE
    half = model.crop_scale * box_side / 2
    centre_x, centre_y = side / 2, side / 2 + model.crop_shift * box_side
    scale = size / (2 * half)
    matrix = np.array([[scale, 0, size / 2 - centre_x * scale], [0, scale, size / 2 - centre_y * scale]])
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(region, matrix, (size, size), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)


def model_input(regions: list[np.ndarray], model: AttributeModel) -> np.ndarray:
    """Face regions (uint8 RGB) → the model's float32 NHWC batch."""
    return scale_pixels(np.stack([model_crop(region, model) for region in regions]), model)


def scale_pixels(crops: np.ndarray, model: AttributeModel) -> np.ndarray:
    """N×S×S×3 uint8 RGB → the model's float32 input (colour order and scaling of its source)."""
    pixels = crops.astype(np.float32)
    if model.colour == "grey":
        pixels = (pixels / np.float32(255.0)) @ GREY
        pixels = pixels[..., None]
        if model.scaling != "signed":
            raise ValueError(f"{model.name}: grey input is only used with signed scaling")
        return (pixels - np.float32(0.5)) * np.float32(2.0)
    if model.colour == "bgr":
        pixels = pixels[..., ::-1]
    if model.scaling == "unit":
        return np.ascontiguousarray(pixels / np.float32(255.0))
    if model.scaling == "signed":
        return np.ascontiguousarray((pixels / np.float32(255.0) - np.float32(0.5)) * np.float32(2.0))
    if model.scaling == "byte":
        return np.ascontiguousarray(pixels)
    if model.scaling == "vgg":
        return np.ascontiguousarray(pixels - VGG_MEAN_BGR)
    if model.scaling == "faceapi":
        return np.ascontiguousarray((pixels - FACEAPI_MEAN_RGB) / np.float32(255.0))
    raise ValueError(f"{model.name}: unknown scaling {model.scaling!r}")


# ---------- decoders: raw outputs → one dict per face ----------

def _gender(p_male: float) -> dict:
    male = p_male >= 0.5
    return {"gender": "male" if male else "female", "gender_score": float(p_male if male else 1 - p_male),
            "p_male": float(p_male)}


def _decode_mini_xception_gender(outputs):
    # oarriaga/face_classification: IMDB labels {0: woman, 1: man}
    return [_gender(float(p[1])) for p in outputs["gender"]]


def _decode_mini_xception_emotion(outputs):
    results = []
    for p in outputs["emotion"]:
        best = int(np.argmax(p))
        results.append({"emotion": EMOTIONS[best], "emotion_score": float(p[best]),
                        "emotions": {label: round(float(v), 4) for label, v in zip(EMOTIONS, p)}})
    return results


def _faceres_age(p: np.ndarray) -> float:
    # HSE_FaceRec_tf facial_analysis.py: the two likeliest of 100 classes, renormalised, + the minimum age 1
    top = np.argsort(p)[::-1][:2]
    weights = p[top] / max(float(np.sum(p[top])), 1e-12)
    return float(1 + np.sum(top * weights))


def _decode_faceres(outputs):
    # gender_pred is a sigmoid: 1 = male (HSE_FaceRec_tf's is_male)
    return [{**_gender(float(g[0])), "age": _faceres_age(a)} for g, a in zip(outputs["gender"], outputs["age"])]


def _decode_gear(outputs):
    # GEAR-Predictor: gender [male, female]; age in 7 groups, read as the expected value of the groups' centres
    results = []
    for g, a in zip(outputs["gender"], outputs["age"]):
        results.append({**_gender(float(g[0])), "age": float(np.dot(a, GEAR_AGE_CENTRES) / max(float(a.sum()), 1e-12))})
    return results


def _decode_ssrnet_age(outputs):
    return [{"age": float(v[0])} for v in outputs["age"]]


def _decode_ssrnet_gender(outputs):
    # SSR-Net gender regression on IMDB's labels (1 = male, 0 = female)
    return [_gender(float(np.clip(v[0], 0.0, 1.0))) for v in outputs["gender"]]


def _decode_faceapi(outputs):
    # face-api's AgeGenderNet.predictAgeAndGender: the softmax's first entry is "male"; age is a regression in years
    return [{**_gender(float(g[0])), "age": float(a[0])} for g, a in zip(outputs["gender"], outputs["age"])]


def _decode_livenessnet(outputs):
    # LivenessNet (pyimagesearch's recipe): classes label-encoded alphabetically, [fake, real]
    return [{"liveness": float(p[1])} for p in outputs["liveness"]]


def _decode_antispoof(outputs):
    # a sigmoid over Keras' alphabetical classes [fake, real]: the probability of "real"
    return [{"liveness": float(v[0])} for v in outputs["real"]]


NONCOMMERCIAL = "no licence for commercial use (see docs/models.md)"

MODELS = {
    m.name: m
    for m in (
        AttributeModel(
            "mini-xception-gender", "attr_gender_mini_xception", ("gender",), 64, "grey", "signed", 1.8,
            _decode_mini_xception_gender, False, "MIT (oarriaga/face_classification); trained on IMDB-WIKI",
            description="mini-Xception gender (Arriaga et al. 2017), 64×64 grey",
        ),
        AttributeModel(
            "mini-xception-emotion", "attr_emotion_mini_xception", ("emotion",), 64, "grey", "signed", 1.4,
            _decode_mini_xception_emotion, False, "MIT (oarriaga/face_classification); trained on FER-2013",
            description="mini-Xception emotion (Arriaga et al. 2017), 64×64 grey, 7 FER-2013 classes",
        ),
        AttributeModel(
            "faceres", "attr_faceres", ("gender", "age"), 224, "bgr", "vgg", 1.4,
            _decode_faceres, True, NONCOMMERCIAL,
            description="HSE FaceRes MobileNet age/gender (Savchenko), 224×224",
        ),
        AttributeModel(
            "faceres-deep", "attr_faceres_deep", ("gender", "age"), 224, "bgr", "vgg", 1.4,
            _decode_faceres, True, NONCOMMERCIAL,
            description="HSE FaceRes, float32 weights",
        ),
        AttributeModel(
            "gear", "attr_gear", ("gender", "age"), 198, "rgb", "unit", 1.0,
            _decode_gear, True, NONCOMMERCIAL,
            description="GEAR-Predictor (gender, 7 age groups), 198×198",
        ),
        AttributeModel(
            "ssrnet-age", "attr_age_ssrnet", ("age",), 64, "bgr", "byte", 1.6,
            _decode_ssrnet_age, True, NONCOMMERCIAL,
            description="SSR-Net age regression (Yang et al. 2018), IMDB, 64×64",
        ),
        AttributeModel(
            "ssrnet-gender", "attr_gender_ssrnet", ("gender",), 64, "bgr", "byte", 1.6,
            _decode_ssrnet_gender, True, NONCOMMERCIAL,
            description="SSR-Net gender regression, IMDB, 64×64",
        ),
        AttributeModel(
            "faceapi-age-gender", "attr_faceapi_age_gender", ("gender", "age"), 112, "rgb", "faceapi", 1.0,
            _decode_faceapi, False, "MIT (@vladmandic/face-api, face-api.js); trained on UTKFace, IMDB-WIKI and other research sets",
            description="face-api.js AgeGenderNet (TinyXception, Vincent Mühler), 112×112 RGB",
        ),
        AttributeModel(
            "livenessnet", "liveness_livenessnet", ("liveness",), 32, "bgr", "unit", 1.0,
            _decode_livenessnet, True, NONCOMMERCIAL,
            description="LivenessNet (leokwu/livenessnet), 32×32",
        ),
        AttributeModel(
            "antispoof", "liveness_antispoof", ("liveness",), 128, "rgb", "unit", 1.4,
            _decode_antispoof, True, NONCOMMERCIAL,
            description="fake-face CNN (Kaggle anku420/fake-face-detection), 128×128",
        ),
    )
}


def run(model: AttributeModel, regions: list[np.ndarray], session) -> list[dict]:
    """One batch of face regions through one model → one decoded dict per face."""
    if not regions:
        return []
    batch = model_input(regions, model)
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {session.get_inputs()[0].name: batch})
    return model.decode(dict(zip(names, values)))
