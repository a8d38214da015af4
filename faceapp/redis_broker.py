"""A django-q2 broker on Redis that gives a task back when the worker that took it dies.

django-q2's own Redis broker pops a task (BLPOP) and forgets it: a worker killed in the middle loses the task.
This one keeps every task until a worker acknowledges it, as django-q2's database broker does:

    enqueue      HSET <q>:tasks id payload, HSET <q>:enqueued id time, RPUSH <q>:waiting id
    dequeue      (one Lua script, atomic) move every task whose lease expired back to the head of <q>:waiting,
                 then LPOP an id and lease it for Q_CLUSTER["retry"] seconds (ZADD <q>:leased deadline id)
    acknowledge  ZREM <q>:leased id, HDEL <q>:tasks / <q>:enqueued id

so a task is run at least once: if its worker dies, another takes it when its lease runs out (retry must exceed
the task timeout, as django-q2 requires). Times are Redis's own (TIME), so the nodes' clocks do not matter.
Keys start with FACEAPP_REDIS_PREFIX, so several installations (or test runs) can share one Redis.
"""
from __future__ import annotations

import time
import uuid

import redis
from django.conf import settings
from django_q.brokers import Broker
from django_q.conf import Conf

from faceapp import metrics

_DEQUEUE = """
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1000000
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', t)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  if redis.call('HEXISTS', KEYS[3], id) == 1 then redis.call('LPUSH', KEYS[1], id) end
end
local id = redis.call('LPOP', KEYS[1])
if not id then return {#expired} end
redis.call('ZADD', KEYS[2], t + tonumber(ARGV[1]), id)
return {#expired, id, redis.call('HGET', KEYS[3], id)}
"""


class ReliableRedis(Broker):
    def __init__(self, list_key: str | None = None):
        super().__init__(list_key=list_key or Conf.CLUSTER_NAME)
        self._keys()

    def __setstate__(self, state):  # django-q2 pickles the broker into its worker processes
        super().__setstate__(state)
        self._keys()

    def _keys(self) -> None:
        base = f"{settings.FACEAPP_REDIS_PREFIX}:q:{self.list_key}"
        self.waiting_key, self.leased_key = f"{base}:waiting", f"{base}:leased"
        self.tasks_key, self.enqueued_key = f"{base}:tasks", f"{base}:enqueued"
        self._dequeue = self.connection.register_script(_DEQUEUE)

    @staticmethod
    def get_connection(list_key: str | None = None) -> redis.Redis:
        return redis.Redis.from_url(settings.FACEAPP_REDIS_URL, socket_connect_timeout=2, socket_timeout=5)

    def enqueue(self, task) -> str:
        task_id = uuid.uuid4().hex
        pipe = self.connection.pipeline(transaction=True)
        pipe.hset(self.tasks_key, task_id, task)
        pipe.hset(self.enqueued_key, task_id, time.time())
        pipe.rpush(self.waiting_key, task_id)
        pipe.execute()
        return task_id

    def dequeue(self):
        requeued, *taken = self._dequeue(
            keys=[self.waiting_key, self.leased_key, self.tasks_key], args=[Conf.RETRY]
        )
        if requeued:
            metrics.tasks_requeued.labels(self.list_key).inc(requeued)
        if taken:
            task_id, payload = taken
            return [(task_id.decode(), payload.decode() if isinstance(payload, bytes) else payload)]
        time.sleep(Conf.POLL)  # nothing waiting: poll again shortly (a script cannot block)
        return None

    def acknowledge(self, task_id) -> None:
        pipe = self.connection.pipeline(transaction=True)
        pipe.zrem(self.leased_key, task_id)
        pipe.hdel(self.tasks_key, task_id)
        pipe.hdel(self.enqueued_key, task_id)
        pipe.execute()

    def fail(self, task_id) -> None:
        self.acknowledge(task_id)

    def delete(self, task_id) -> None:
        self.acknowledge(task_id)

    def queue_size(self) -> int:
        return self.connection.llen(self.waiting_key)

    def lock_size(self) -> int:
        return self.connection.zcard(self.leased_key)

    def stats(self) -> tuple[int, int, float]:
        """(waiting, in progress, age of the oldest waiting task in seconds)."""
        pipe = self.connection.pipeline(transaction=False)
        pipe.llen(self.waiting_key)
        pipe.zcard(self.leased_key)
        pipe.lindex(self.waiting_key, 0)
        waiting, leased, head = pipe.execute()
        age = 0.0
        if head is not None:
            enqueued = self.connection.hget(self.enqueued_key, head)
            age = max(0.0, time.time() - float(enqueued)) if enqueued else 0.0
        return waiting, leased, age

    def purge_queue(self) -> None:
        self.connection.delete(self.waiting_key, self.leased_key, self.tasks_key, self.enqueued_key)

    def delete_queue(self) -> None:
        self.purge_queue()

    def ping(self) -> bool:
        return self.connection.ping()

    def info(self) -> str:
        if not self._info:
            self._info = f"Redis {self.connection.info('server')['redis_version']} (faceapp reliable queue)"
        return self._info

    def set_stat(self, key: str, value: str, timeout: int) -> None:
        self.connection.set(f"{settings.FACEAPP_REDIS_PREFIX}:{key}", value, timeout)

    def get_stat(self, key: str):
        return self.connection.get(f"{settings.FACEAPP_REDIS_PREFIX}:{key}")

    def get_stats(self, pattern: str):
        keys = list(self.connection.scan_iter(match=f"{settings.FACEAPP_REDIS_PREFIX}:{pattern}"))
        return self.connection.mget(keys) if keys else None
