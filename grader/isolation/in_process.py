"""``InProcessGateway``: probes in the grading process itself (a student's quick local loop).

Not isolated: student code shares the grader's process, so scores from it are for the
student's own feedback; ``--isolate`` and bulk grading use ``WorkerGateway``. Results
still cross the plain-data boundary, so checks see exactly what a worker would send.
"""

from __future__ import annotations

import copy
from typing import Any

from grader import plain
from grader.isolation.protocol import Gateway, run_probe
from grader.probes import ProbeContext
from grader.target import Target


class InProcessGateway(Gateway):
    """Probes run here; results still cross the plain-data boundary."""

    def __init__(self, target: Target):
        self.ctx = ProbeContext(target)

    def call(self, probe_id: str, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        # Timeouts in-process are the plugin's job (a signal in the main thread).
        # Arguments are the grader's own plain data: copied, not encoded (MNIST is 55 MB).
        reply = run_probe(self.ctx, probe_id, copy.deepcopy(list(args)), copy.deepcopy(kwargs))
        return plain.decode(reply)["value"]
