"""What checks import, in the grading process (never in a worker).

- ``expectations``        assertion helpers with student-facing messages (``expect_close``, ``fail``)
- ``model_expectations``  the same for Keras models and layer settings
- ``oracles``             independent reference computations (NumPy, TensorFlow, Keras)
- ``training_oracle``     NumPy re-derivation of the Trainer's numbers (softmax regression + Adam)
- ``bar_scoring``         the accuracy bars: the grader's own forward pass on trained weights
- ``bar_runs``            the session's bar runs, started ahead under ``--isolate``, one per core
- ``train_cache``         the content-keyed cache of bar runs
- ``normalized_source``   a module's token stream and canonical copy: what a bar runs and is keyed by
"""
