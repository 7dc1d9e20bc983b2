"""The worker's entry point: ``python -m grader.isolation.worker_main CONFIG REQUEST_FD REPLY_FD``.

The child locks itself down before anything imports NumPy (whose threads would make the
lock-down unsafe): it joins its cgroup, applies ``grader.isolation.sandbox.lock_down``
(namespaces, jail, limits, unprivileged user), and only then imports the zygote
(``grader.isolation.zygote``), TensorFlow and the probes. So this file imports nothing
but the standard library and the two lock-down modules at its top.
"""

import sys

from grader.isolation.cgroup import join
from grader.isolation.sandbox import Config, lock_down


def main(argv: list[str]) -> int:
    """Lock down, then serve requests from fd ``argv[2]`` with replies on fd ``argv[3]``."""
    config = Config.from_json(argv[1])
    if config.cgroup:  # into the worker's cgroup before anything is allocated; children inherit it
        try:
            join(config.cgroup)
        except OSError as error:
            sys.stderr.write(f"cannot join the worker's cgroup: {error}\n")
            return 71
    sandbox = lock_down(config)
    from pathlib import Path

    from grader.isolation.zygote import (
        serve,  # NumPy and TensorFlow: only after the lock-down
    )

    return serve(Path(config.folder) / "submission", int(argv[2]), int(argv[3]), sandbox)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
