"""The class-level files at the top of a results folder (``course grade --out RESULTS``).

Each student has ``RESULTS/<id>/``; hidden entries (``.train_cache``, ``.work``,
``.lock``) belong to the grader, and student ids never start with a dot.
"""

GRADEBOOK = "gradebook.csv"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
CLASS_FILES = (GRADEBOOK, SUMMARY_JSON, SUMMARY_MD)
