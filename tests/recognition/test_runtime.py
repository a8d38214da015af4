from concurrent.futures import ThreadPoolExecutor

import pytest

from recognition import runtime
from recognition.exceptions import ModelUnavailable


def test_resolve_providers_keeps_cpu_as_the_fallback_and_drops_what_this_build_lacks():
    assert runtime.resolve_providers(["NoSuchExecutionProvider"]) == ["CPUExecutionProvider"]
    assert runtime.resolve_providers(["auto"])[-1] == "CPUExecutionProvider"


def test_cuda_options_search_convolutions_for_facenet_but_not_for_mtcnn(settings):
    settings.FACEAPP_ORT_CUDNN_CONV_ALGO_SEARCH = "EXHAUSTIVE"
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert runtime.provider_options(providers, "facenet") == [
        ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "EXHAUSTIVE"}),
        "CPUExecutionProvider",
    ]
    for net in ("mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"):
        assert runtime.provider_options(providers, net)[0] == ("CUDAExecutionProvider", {"cudnn_conv_algo_search": "DEFAULT"})


def test_get_session_creates_one_session_shared_by_all_threads(models_ready):
    runtime._sessions.pop("mtcnn_onet", None)
    with ThreadPoolExecutor(8) as pool:
        sessions = list(pool.map(lambda _: runtime.get_session("mtcnn_onet"), range(16)))
    assert all(s is sessions[0] for s in sessions)


def test_a_missing_model_file_is_model_unavailable(settings, tmp_path):
    settings.FACEAPP_MODEL_DIR = tmp_path
    runtime._sessions.pop("facenet_missing", None)
    with pytest.raises(ModelUnavailable):
        runtime.get_session("facenet_missing")


def test_sessions_do_not_spin_unless_asked(settings, models_ready):
    settings.FACEAPP_ORT_ALLOW_SPINNING = False
    runtime._sessions.pop("mtcnn_rnet", None)
    session = runtime.get_session("mtcnn_rnet")
    assert session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning") == "0"
    runtime._sessions.pop("mtcnn_rnet", None)
