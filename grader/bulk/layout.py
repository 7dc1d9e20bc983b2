"""The class-level files at the top of a results folder (``course grade --out RESULTS``).

Each student has ``RESULTS/<id>/``; hidden entries (``.train_cache``, ``.work``,
``.lock``) belong to the grader, and student ids never start with a dot.
"""

GRADEBOOK = "gradebook.csv"
SUMMARY_JSON = "summary.json"
SUMMARY_MD = "summary.md"
SUMMARY_HTML = "summary.html"  # the dashboard (``grader.bulk.dashboard``)
CHANGES_MD = "changes.md"  # totals a ``--force`` run changed (``grader.bulk.changes``)
CHANGES_JSON = "changes.json"
SIMILARITY_DIR = "similarity"  # ``course grade --similarity`` (``grader.bulk.similarity``)
SIMILARITY_HTML = "similarity.html"  # in SIMILARITY_DIR, or in ``course similarity --out REPORT``
SIMILARITY_JSON = "similarity.json"
CLASS_FILES = (GRADEBOOK, SUMMARY_JSON, SUMMARY_MD, SUMMARY_HTML, CHANGES_MD, CHANGES_JSON, SIMILARITY_DIR)
