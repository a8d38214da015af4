"""The reliable Redis broker (faceapp.redis_broker) on a real Redis: a task stays until it is acknowledged, and
one whose worker died is given to the next worker when its lease runs out."""
import pickle
import time

import pytest
from django_q.conf import Conf

from faceapp.redis_broker import ReliableRedis


@pytest.fixture
def broker(redis_settings, monkeypatch):
    monkeypatch.setattr(Conf, "RETRY", 1)  # a lease of one second
    monkeypatch.setattr(Conf, "POLL", 0.01)
    return ReliableRedis("faceapp-video")


def test_a_task_waits_until_a_worker_takes_it_and_is_gone_once_acknowledged(broker):
    broker.enqueue("task-1")
    broker.enqueue("task-2")
    assert broker.queue_size() == 2 and broker.lock_size() == 0
    [(task_id, payload)] = broker.dequeue()
    assert payload == "task-1"
    assert broker.queue_size() == 1 and broker.lock_size() == 1  # leased, not forgotten
    broker.acknowledge(task_id)
    assert broker.lock_size() == 0
    [(_, payload)] = broker.dequeue()
    assert payload == "task-2"


def test_a_task_whose_worker_died_is_given_again_when_its_lease_runs_out(broker):
    broker.enqueue("webhook")
    [(first_id, _)] = broker.dequeue()  # this worker dies: it never acknowledges
    assert broker.dequeue() is None  # nothing else waits, and the lease still runs
    time.sleep(1.2)
    [(again_id, payload)] = broker.dequeue()
    assert (again_id, payload) == (first_id, "webhook")
    broker.acknowledge(again_id)
    time.sleep(1.2)
    assert broker.dequeue() is None and broker.lock_size() == 0


def test_queues_are_separate_and_report_depth_and_age(broker, redis_settings):
    imports = ReliableRedis("faceapp-imports")
    for n in range(3):
        imports.enqueue(f"import {n}")
    time.sleep(0.3)
    waiting, leased, age = imports.stats()
    assert (waiting, leased) == (3, 0) and 0.25 < age < 5
    assert broker.stats() == (0, 0, 0.0)  # the video queue is not starved by, nor holding, the imports


def test_keys_carry_the_installation_prefix(broker, redis_settings):
    broker.enqueue("x")
    keys = {k.decode() for k in redis_settings.scan_iter(match="*faceapp-video*")}
    assert keys and all(k.startswith(f"{broker.waiting_key.split(':')[0]}:") for k in keys)


def test_the_broker_survives_the_trip_into_a_worker_process(broker):
    copy = pickle.loads(pickle.dumps(broker))
    copy.enqueue("from the copy")
    [(_, payload)] = broker.dequeue()
    assert payload == "from the copy"
