"""gunicorn settings that are code rather than flags."""


def post_worker_init(worker):
    # Load the ONNX sessions before the first request, so that it is not the one that pays for it.
    from recognition.warmup import warm_up

    warm_up()
