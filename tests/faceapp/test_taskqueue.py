"""Which queue each kind of work goes to, and the queues' depth, with Redis and without."""
import pytest
from django_q.conf import Conf
from django_q.tasks import async_task

from faceapp import taskqueue


def test_without_redis_every_kind_goes_to_the_one_default_queue(settings):
    settings.FACEAPP_QUEUES_SEPARATE = False
    assert {taskqueue.queue_name(kind) for kind in taskqueue.KINDS} == {"faceapp"}
    assert taskqueue.queue_names() == ["faceapp"] and taskqueue.cluster_option("video") is None


def test_separate_queues_keep_housekeeping_on_the_default_cluster_that_runs_the_schedules(settings):
    settings.FACEAPP_QUEUES_SEPARATE = True
    assert taskqueue.queue_names() == ["faceapp", "faceapp-video", "faceapp-imports"]
    assert taskqueue.cluster_option("housekeeping") is None and taskqueue.cluster_option("video") == "faceapp-video"
    with pytest.raises(ValueError):
        taskqueue.queue_name("frames")


@pytest.mark.django_db
def test_the_database_broker_reports_its_queue(settings):
    settings.FACEAPP_QUEUES_SEPARATE = False
    async_task("videostreams.tasks.delete_old_events")
    [stats] = taskqueue.stats()
    assert (stats.queue, stats.waiting, stats.in_progress) == ("faceapp", 1, 0) and stats.oldest_age_seconds >= 0


def test_with_redis_a_webhook_task_waits_in_the_video_queue(redis_settings, settings, monkeypatch):
    settings.FACEAPP_QUEUES_SEPARATE = True
    monkeypatch.setattr(Conf, "BROKER_CLASS", "faceapp.redis_broker.ReliableRedis")
    monkeypatch.setattr(Conf, "ORM", None)
    taskqueue.enqueue("video", "videostreams.tasks.deliver_webhook", "00000000-0000-0000-0000-000000000000")
    depth = {s.queue: s.waiting for s in taskqueue.stats()}
    assert depth == {"faceapp": 0, "faceapp-video": 1, "faceapp-imports": 0}
