"""Bulk grading: a whole class in one command (``course grade``).

- ``submissions``  find and safely stage each student's exercise modules
- ``screen``       read the staged modules as text (never import them) and flag what reaches for the grader
- ``student``      grade one student with the real grader in sandboxed workers
- ``record``       ``GradingRecord`` (``grading.json``) and the statuses
- ``feedback``     the student's ``feedback.md``
- ``gradebook``    ``gradebook.csv`` and the summary, rebuilt from the per-student files
- ``dashboard``    ``summary.html``: the summary as a self-contained page (templates in ``templates/``)
- ``changes``      ``changes.md``/``.json``: whose totals a ``--force`` run changed
- ``similarity``   ``course similarity``: the most alike code per module (copydetect, stubs as boilerplate)
- ``layout``       the names of the class-level result files
- ``training_plan`` the bar keys of each entry, and which entries wait for which (one training per key)
- ``cluster``      ``--cluster``: the students as Dask tasks (Dask is an optional extra, imported there only)
- ``class_run``    the whole class: parallel (a local pool or a cluster), resumable, with a progress bar
"""

from grader.bulk.class_run import RunLocked, grade_class
from grader.bulk.student import Settings

__all__ = ["grade_class", "Settings", "RunLocked"]
