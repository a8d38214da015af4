"""videostreams.mqtt against the real Mosquitto broker on 127.0.0.1:1883 (skipped, saying so, where none runs)."""
import datetime as dt
import json
import queue
import socket
import uuid

import numpy as np
import pytest

from tests.conftest import load_rgb, read_bytes
from videostreams import mqtt
from videostreams.models import Camera
from videostreams.processing import CameraConfig, Frame, Processor

pytestmark = pytest.mark.django_db(transaction=True)
BROKER = ("127.0.0.1", 1883)


@pytest.fixture
def broker():
    try:
        socket.create_connection(BROKER, timeout=1).close()
    except OSError:
        pytest.skip(f"no MQTT broker on {BROKER[0]}:{BROKER[1]} (install and start mosquitto to run this test)")
    return BROKER


@pytest.fixture
def prefix(settings, broker):
    """A topic prefix of this test's own (the broker is shared) and MQTT turned on; closed afterwards."""
    name = f"faceapp-test-{uuid.uuid4().hex[:8]}"
    settings.FACEAPP_MQTT_URL = f"mqtt://{broker[0]}:{broker[1]}"
    settings.FACEAPP_MQTT_TOPIC_PREFIX = name
    yield name
    mqtt.close()


def subscriber(topic: str):
    import paho.mqtt.client as paho

    received: queue.Queue = queue.Queue()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2)
    client.on_message = lambda c, u, message: received.put((message.topic, message.payload.decode(), message.retain))
    client.connect(*BROKER)
    client.subscribe(topic, qos=1)
    client.loop_start()
    return client, received


def drain(received: queue.Queue, count: int, timeout: float = 10.0) -> list:
    out = []
    while len(out) < count:
        out.append(received.get(timeout=timeout))
    return out


def test_mqtt_is_off_unless_configured(settings):
    settings.FACEAPP_MQTT_URL = ""
    assert mqtt.publisher() is None


def test_topic_parts_have_no_mqtt_wildcards_or_levels():
    assert mqtt.topic_part("front door/#1 + back") == "front_door_1_back"


def test_events_are_published_per_camera_and_the_person_last_seen_is_retained(models_ready, prefix):
    from enrollment import services

    obama = services.enrol_person(name="Barack Obama", birthdate=dt.date(1961, 8, 4), image=read_bytes("samples", "obama.jpg"),
                                  image_name="obama.jpg")
    camera = Camera.objects.create(name="front door", source="x", mode=Camera.Mode.REALTIME)
    client, received = subscriber(f"{prefix}/#")
    try:
        processor = Processor()
        processor.set_config(CameraConfig.from_camera(camera))
        image = np.ascontiguousarray(load_rgb("samples", "obama-480p.jpg")[:, :, ::-1])
        processor.process([Frame(camera.id, image.copy(), 1000.0 + i * 0.2, i) for i in range(4)])
        processor.flush()
        messages = drain(received, 4)  # available, new, last_seen (and more: end, last_seen again)
        by_topic = {}
        for topic, payload, _ in messages + [m for m in iter_nowait(received)]:
            by_topic.setdefault(topic, []).append(payload)
        assert by_topic[f"{prefix}/available"][0] == "online"
        events = [json.loads(p) for p in by_topic[f"{prefix}/cameras/front_door/events"]]
        assert events[0]["type"] == "new" and events[0]["event"]["person"]["name"] == "Barack Obama"
        last = json.loads(by_topic[f"{prefix}/people/{obama.id}/last_seen"][-1])
        assert last["camera"]["name"] == "front door" and last["person"]["id"] == str(obama.id)
    finally:
        client.loop_stop()
        client.disconnect()
    # A client connecting afterwards still gets the retained last sighting.
    late, late_received = subscriber(f"{prefix}/people/+/last_seen")
    try:
        topic, payload, retained = late_received.get(timeout=10)
        assert topic == f"{prefix}/people/{obama.id}/last_seen" and retained
    finally:
        late.loop_stop()
        late.disconnect()
    # Clean the broker: clear the retained messages of this test's prefix.
    cleaner = mqtt.publisher()
    cleaner.publish(f"people/{obama.id}/last_seen", "", retain=True)
    cleaner.publish("available", "", retain=True)


def test_a_broker_that_is_not_there_never_blocks_or_fails_processing(models_ready, settings):
    settings.FACEAPP_MQTT_URL = "mqtt://127.0.0.1:9"  # nothing listens on the discard port
    settings.FACEAPP_MQTT_TOPIC_PREFIX = f"faceapp-test-{uuid.uuid4().hex[:8]}"
    try:
        camera = Camera.objects.create(name="no broker", source="x", mode=Camera.Mode.BEST_SHOT, min_track_frames=1)
        processor = Processor()
        processor.set_config(CameraConfig.from_camera(camera))
        image = np.ascontiguousarray(load_rgb("samples", "obama-480p.jpg")[:, :, ::-1])
        processor.process([Frame(camera.id, image, 1000.0, 0)])
        assert len(processor.flush()) == 1
    finally:
        mqtt.close()


def iter_nowait(received: queue.Queue):
    while True:
        try:
            yield received.get(timeout=1.0)
        except queue.Empty:
            return
