"""Events to MQTT (optional): what home-automation and alarm systems listen to, as Frigate publishes.

Off unless FACEAPP_MQTT_URL is set (``mqtt://[user:password@]host[:port]``; ``mqtts://`` for TLS).
Topics, under FACEAPP_MQTT_TOPIC_PREFIX (default ``faceapp``):

- ``<prefix>/cameras/<camera>/events``: each event as it is created (``"type": "new"``), updated
  (``"update"``: a better shot, a name) and closed (``"end"``): the webhook's JSON body
  (``videostreams.rules.event_payload``) with that type; QoS 1, not retained.
- ``<prefix>/people/<person id>/last_seen``: retained, so a client that connects later still gets it:
  ``{"person": {...}, "camera": {...}, "event": id, "time": last seen, "similarity"}``, written
  whenever an event names that person.
- ``<prefix>/available``: ``online`` while the runner is connected, ``offline`` (retained, the
  broker's last will) when it is gone.

``<camera>`` is the camera's name with MQTT's special characters (``/ + #`` and spaces) turned into
``_``. Publishing never blocks or fails the processing thread: paho-mqtt's network loop runs on its own
thread and reconnects with back-off; while the broker is away the newest HELD_MESSAGES messages are
held and sent on reconnection (older ones are dropped, as a camera's queue drops old frames).
"""
from __future__ import annotations

import json
import logging
import re
import threading
from urllib.parse import unquote, urlsplit

from django.conf import settings

logger = logging.getLogger(__name__)

HELD_MESSAGES = 1000  # messages kept while the broker is away (the oldest are dropped beyond)
_publisher: "Publisher | None" = None
_lock = threading.Lock()


def topic_part(name: str) -> str:
    return re.sub(r"[/+#\s]+", "_", name).strip("_") or "_"


class Publisher:
    def __init__(self, url: str, prefix: str, *, client_id: str = ""):
        import paho.mqtt.client as mqtt

        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("FACEAPP_MQTT_URL must look like mqtt://[user:password@]host[:port]")
        self.prefix = prefix.strip("/")
        self._held: list[tuple[str, str, bool]] = []  # published while not connected, sent on connection
        self._held_lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if parts.username:
            self.client.username_pw_set(unquote(parts.username), unquote(parts.password or ""))
        if parts.scheme == "mqtts":
            self.client.tls_set()
        self.client.will_set(f"{self.prefix}/available", "offline", qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=60)
        self.client.on_connect = self._connected
        self.client.connect_async(parts.hostname, parts.port or (8883 if parts.scheme == "mqtts" else 1883), keepalive=30)
        self.client.loop_start()

    def _connected(self, client, userdata, flags, reason_code, properties=None) -> None:
        if reason_code != 0:
            logger.warning("MQTT broker refused the connection: %s", reason_code)
            return
        client.publish(f"{self.prefix}/available", "online", qos=1, retain=True)
        with self._held_lock:
            held, self._held = self._held, []
        for topic, body, retain in held:
            self._send(topic, body, retain)

    def publish(self, topic: str, payload: dict | str, *, retain: bool = False) -> None:
        body = payload if isinstance(payload, str) else json.dumps(payload, default=str)
        if not self.client.is_connected():
            # paho-mqtt does not queue while it is not connected: hold the newest messages until it is.
            with self._held_lock:
                self._held = (self._held + [(topic, body, retain)])[-HELD_MESSAGES:]
            return
        self._send(topic, body, retain)

    def _send(self, topic: str, body: str, retain: bool) -> None:
        info = self.client.publish(f"{self.prefix}/{topic}", body, qos=1, retain=retain)
        if info.rc != 0:
            logger.warning("MQTT publish to %s not queued (rc %s)", topic, info.rc)

    def close(self) -> None:
        try:
            if self.client.is_connected():
                self.client.publish(f"{self.prefix}/available", "offline", qos=1, retain=True).wait_for_publish(timeout=2)
            self.client.disconnect()
        finally:
            self.client.loop_stop()


def publisher() -> Publisher | None:
    """The process's publisher, connected lazily; None when MQTT is not configured (or not usable)."""
    global _publisher
    if not settings.FACEAPP_MQTT_URL:
        return None
    with _lock:
        if _publisher is None:
            try:
                _publisher = Publisher(settings.FACEAPP_MQTT_URL, settings.FACEAPP_MQTT_TOPIC_PREFIX)
            except Exception:
                logger.exception("MQTT is configured but its client could not start; events are not published")
                return None
        return _publisher


def close() -> None:
    """Say offline and disconnect (the runner is stopping)."""
    global _publisher
    with _lock:
        if _publisher is not None:
            try:
                _publisher.close()
            finally:
                _publisher = None


def publish_event(event, kind: str) -> None:
    """Publish an event ("new", "update" or "end") and, when it names somebody, their retained last sighting."""
    client = publisher()
    if client is None:
        return
    from .rules import event_payload

    try:
        body = event_payload(event)
        body["type"] = kind
        client.publish(f"cameras/{topic_part(event.camera.name)}/events", body)
        if event.matched and event.person_id:
            client.publish(f"people/{event.person_id}/last_seen", {
                "person": body["event"]["person"], "camera": body["event"]["camera"], "event": str(event.id),
                "time": event.last_seen.isoformat(), "similarity": event.similarity,
            }, retain=True)
    except Exception:
        logger.exception("could not publish event %s to MQTT", event.id)
