"""The grader-trust corpora (issue 4): wrong submissions and correct ones, as data.

- ``mistakes.MISTAKES``: realistic wrong submissions, each a small edit of one module of
  ``solutions/`` that must cost points in its own exercise only, with a failing message
  that names the mistake (recall).
- ``correct_variants.VARIANTS``: correct submissions written in other styles, each of
  which must score 100/100 with the full grader, accuracy bars included (precision).
- ``build.materialize(entry, folder)``: a submission folder for one entry (a copy of
  ``solutions/`` with the entry's change applied; every edit must match exactly once).
- ``reformat.reformat(source, style)``: the same tokens in another layout (comments,
  blank lines, spacing, reflowed calls, indentation), for the bar cache's normalized key.
"""
