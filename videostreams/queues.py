"""The bounded frame queue between the camera readers and the processing thread.

One deque per camera with a fixed length: when processing falls behind, a new frame pushes out
that camera's oldest one and the drop is counted, so memory stays bounded (at most
`per_camera` frames per camera) and what gets analysed is always recent. The consumer takes frames
round-robin across cameras, so a camera that floods (or stalls) its deque never starves the others.
"""
from __future__ import annotations

import threading
from collections import deque


class FrameQueue:
    def __init__(self, per_camera: int):
        if per_camera < 1:
            raise ValueError("per_camera must be at least 1")
        self.per_camera = per_camera
        self._queues: dict[object, deque] = {}
        self._dropped: dict[object, int] = {}
        self._order: deque = deque()  # cameras in round-robin order
        self._ready = threading.Condition()

    def put(self, camera_id, item) -> bool:
        """Add a frame; returns False when an older frame of that camera was dropped to make room."""
        with self._ready:
            queue = self._queues.get(camera_id)
            if queue is None:
                queue = self._queues[camera_id] = deque(maxlen=self.per_camera)
                self._dropped.setdefault(camera_id, 0)
                self._order.append(camera_id)
            dropped = len(queue) == queue.maxlen
            if dropped:
                self._dropped[camera_id] += 1
            queue.append(item)  # a full deque with maxlen discards from the other end
            self._ready.notify_all()  # the consumer and any wait_for_put()
            return not dropped

    def get_batch(self, max_items: int, timeout: float | None = None) -> list:
        """Up to max_items frames, one per camera in turn; waits up to `timeout` for the first one."""
        with self._ready:
            if not self._ready.wait_for(lambda: any(self._queues.values()), timeout=timeout):
                return []
            batch = []
            while len(batch) < max_items and any(self._queues.values()):
                camera_id = self._order[0]
                self._order.rotate(-1)
                queue = self._queues[camera_id]
                if queue:
                    batch.append(queue.popleft())
            return batch

    def wait_for_put(self, timeout: float | None = None) -> bool:
        """Block until the next put() (any camera) or the timeout → whether one came (tests and monitors)."""
        with self._ready:
            return self._ready.wait(timeout)

    def remove(self, camera_id) -> None:
        with self._ready:
            self._queues.pop(camera_id, None)
            if camera_id in self._order:
                self._order.remove(camera_id)

    def dropped(self, camera_id) -> int:
        with self._ready:
            return self._dropped.get(camera_id, 0)

    def __len__(self) -> int:
        with self._ready:
            return sum(len(q) for q in self._queues.values())

    def length(self, camera_id) -> int:
        with self._ready:
            return len(self._queues.get(camera_id, ()))
