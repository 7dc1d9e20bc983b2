"""The MNIST course grader and its tools.

Folders by role, in the order a submission flows through them (each folder's
``__init__`` maps its modules):

- ``authoring/``  instructor-only: exercises/ from solutions/, notebooks, the otter zip, the release
- ``bulk/``       ``course grade``: a whole class, one isolated grading per student
- ``notebook/``   what runs in a student's kernel or under otter: ``check()``, the otter cases
- ``launch``, ``warm_grader``  the one way to start ``python -m pytest grader/ ...``
- ``test_*.py``, ``plugin``, ``check_spec``  the grading process: the checks, the pytest plugin
- ``feedback_page/``  the student's HTML feedback page with pictures (``--html``, ``feedback.html``)
- ``checking/``   what the checks import: expectations, oracles, bar scoring, the training cache
- ``isolation/``  the only road to student code: the gateway, the sandboxed worker
- ``probes/``     grader code that runs beside student code (never trusted)

The shared base: ``paths``, ``plain`` (the wire format), ``target`` (importing exercise
modules from a folder), ``report`` (score table, ``results.json``), ``atomic``, ``mnist``,
``tf_runtime``, ``lesson_networks``, ``errors`` (``CourseError``), ``train_pipeline``
(``course train``), ``cli`` (the ``course`` command), ``notebook_check`` (the notebook API
under its first-term name).
"""

__version__ = "0.1.0"
