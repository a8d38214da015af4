"""Test-only fault points: named steps of long work (a bulk import) at which a test can make the process die.

The kill tests (tests/enrollment/test_import_faces.py, tests/test_faults_single_node.py) must land a SIGKILL at an
exact point, e.g. after a face's files are written and before its batch's rows are committed, which no timing from
outside can hit reliably. Two settings, read from the environment once and never set in a deployment (production
mode refuses them):

    FACEAPP_TEST_STEP_LOG=<file>     every step passed is appended to the file as "<n> <name>" (a clean run tells the
                                     test how many steps there are and what each one is); with a log, steps are
                                     numbered across every process writing to it, so a task retried by a new worker
                                     process after the kill goes on counting and is not killed at the same step again
    FACEAPP_TEST_KILL_AT_STEP=<n>    the process SIGKILLs itself at the n-th step it passes (counted from 1)
    FACEAPP_TEST_KILL_SIGNAL=SIGINT  ...or sends itself that signal instead (a Ctrl-C landing at an exact step)

Unset, `reached()` costs two attribute reads.
"""
from __future__ import annotations

import fcntl
import os
import signal
import threading

from django.conf import settings

_lock = threading.Lock()
_passed = 0


def reached(name: str) -> None:
    """Mark the step `name` as passed; the process dies here if it is the step the test chose."""
    global _passed
    kill_at, log = settings.FACEAPP_TEST_KILL_AT_STEP, settings.FACEAPP_TEST_STEP_LOG
    if not kill_at and not log:
        return
    with _lock:
        if log:
            with open(log, "a+", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)  # released when closed
                handle.seek(0)
                number = sum(1 for _ in handle) + 1
                handle.write(f"{number} {name}\n")
        else:
            _passed += 1
            number = _passed
        if number == kill_at:
            os.kill(os.getpid(), getattr(signal, settings.FACEAPP_TEST_KILL_SIGNAL))
