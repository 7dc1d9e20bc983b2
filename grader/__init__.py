"""The MNIST course grader and its tools.

Submodules, one concern each:

- ``paths``     where things live in the repository
- ``mnist``     the offline MNIST loader (checksummed ``data_cache/mnist.npz``)
- ``markers``   solutions/ -> exercises/ (the ``# BEGIN SOLUTION`` stripper)
- ``release``   a student copy of the repository without solutions
- ``target``    importing the exercise modules from a folder
- ``plain``     the plain-data wire format between student code and the grader
- ``gateway``   the single door through which checks call student code
- ``probes``    functions that call student code and return plain data
- ``worker``, ``sandbox``  the isolated worker process (``--isolate``) and its lock-down
- ``checks``, ``model_checks``  assertion helpers with student-facing messages
- ``oracles``   independent reference computations (TensorFlow, Keras, NumPy)
- ``training_oracle``  NumPy re-derivation of the Trainer's numbers (softmax regression + Adam)
- ``bars``, ``train_cache``  the accuracy bars and the cache of their runs
- ``plugin``    the pytest plugin: options, points, score table, results.json
- ``report``    score table and Gradescope ``results.json``
- ``atomic``    writing result files atomically
- ``bulk``      ``course grade``: a whole class, one isolated grading per student
- ``run``       end-to-end training runs (``course train``)
- ``tf_runtime``  TensorFlow, imported once with quiet logs and fixed CPU threads
- ``notebooks``, ``lesson_text``, ``notebook_check``, ``notebook_extract``, ``otter_build``  the notebook
  track and the otter-grader autograder
- ``cli``       the ``course`` command line
"""

__version__ = "0.1.0"
