"""gunicorn settings that are code rather than flags."""


def post_worker_init(worker):
    # Load the ONNX sessions before the first request, so that it is not the one that pays for it.
    from recognition.warmup import warm_up

    warm_up()


def child_exit(server, worker):
    # Multi-process metrics: a worker that exits leaves its live gauges behind unless marked dead.
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
