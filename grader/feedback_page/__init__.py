"""The student's feedback page: one self-contained HTML file with pictures.

``render_page(results, figures, record=None) -> str``: the score, then per exercise each
failed check with its message and, where the answer is an image, pictures of it. Both
entry points make the same page: ``pytest grader/ --html PATH`` (in the grading process,
at session finish) and ``course grade`` (``RESULTS/<id>/feedback.html``, rendered by the bulk
grader from ``results.json``, the run's ``--figures`` sidecar and ``grading.json``).

- ``page``      ``render_page``: Jinja2 with autoescaping on, no script, no external resource
- ``figures``   matplotlib (Agg) PNGs: a failed array check's input, expected, actual and difference;
                an accuracy bar's curve, confusion matrix and misclassified digits
- ``collect``   the pytest side: ``--html``/``--figures``, the ``pictures`` fixture, keeping what
                each check asks to be drawn, drawing it all at session finish, writing both files
- ``templates/page.html.j2``  the page's template
"""

from grader.feedback_page.page import render_page

__all__ = ["render_page"]
