"""Configuration-change broadcasts between the processes and nodes of one installation (Redis pub/sub).

    broadcast.publish("cameras")            after a commit that changed cameras or rules
    broadcast.listen("cameras", callback)   callback() runs in this process at each such message (a thread)

Topics: "cameras" (the camera runners re-read their cameras at once instead of at their next refresh) and
"gallery" (every process forgets its cached gallery sizes and calibrations, so the decision's threshold follows an
enrolment made on another node at once). Without Redis (one machine) publish does nothing: runners still re-read
their cameras every FACEAPP_CAMERA_REFRESH_SECONDS and caches expire after a few seconds, as before.

A broadcast is a hint to look again now, never the data itself (that stays in the database), so a message lost
while Redis is down only delays a change until the next periodic refresh.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict

from django.conf import settings

logger = logging.getLogger(__name__)

_callbacks: dict[str, list] = defaultdict(list)
_lock = threading.Lock()
_listener: tuple[int, threading.Thread] | None = None  # (pid, thread): threads do not survive a fork


def channel(topic: str) -> str:
    return f"{settings.FACEAPP_REDIS_PREFIX}:broadcast:{topic}"


def _client():
    import redis

    return redis.Redis.from_url(settings.FACEAPP_REDIS_URL, socket_connect_timeout=2, socket_timeout=5)


def publish(topic: str) -> bool:
    """Tell every process that `topic` changed. False (and logged) when Redis is not configured or unreachable."""
    if not settings.FACEAPP_REDIS_URL:
        return False
    try:
        _client().publish(channel(topic), str(os.getpid()))
        return True
    except Exception as exc:
        logger.warning("could not broadcast a change of %s (others pick it up at their next refresh): %s", topic, exc)
        return False


def listen(topic: str, callback) -> None:
    """Run `callback()` in this process whenever `topic` is published (from any node). Idempotent per callback."""
    with _lock:
        if callback not in _callbacks[topic]:
            _callbacks[topic].append(callback)
    ensure_listening()


def ensure_listening() -> None:
    """Start this process's listener thread if Redis is configured and it is not running (cheap to call often)."""
    global _listener
    if not settings.FACEAPP_REDIS_URL or not _callbacks:
        return
    pid = os.getpid()
    with _lock:
        if _listener is not None and _listener[0] == pid and _listener[1].is_alive():
            return
        thread = threading.Thread(target=_listen_forever, name="faceapp-broadcast", daemon=True)
        _listener = (pid, thread)
        thread.start()


def _listen_forever() -> None:
    delay = 0.5
    while settings.FACEAPP_REDIS_URL:  # configured away (tests): the thread ends
        try:
            pubsub = _client().pubsub(ignore_subscribe_messages=True)
            with _lock:
                topics = list(_callbacks)
            pubsub.subscribe(*(channel(t) for t in topics))
            delay = 0.5
            for topic in topics:  # changes made while we were not subscribed: look again once
                _run(topic)
            while settings.FACEAPP_REDIS_URL:
                message = pubsub.get_message(timeout=1.0)
                with _lock:
                    if set(_callbacks) != set(topics):  # a topic was added: subscribe again
                        break
                if message and message.get("type") == "message":
                    _run(message["channel"].decode().rsplit(":", 1)[-1])
            pubsub.close()
        except Exception as exc:
            logger.warning("broadcast listener lost Redis (%s); retrying in %.1f s", exc, delay)
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def _run(topic: str) -> None:
    with _lock:
        callbacks = list(_callbacks.get(topic, ()))
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("broadcast callback for %s failed", topic)
