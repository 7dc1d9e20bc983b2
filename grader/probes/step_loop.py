"""A train step run over many batches per call: one compiled loop, else one call per batch.

``StepRunner(step, x, y)`` keeps the training set staged once as tensors (``x`` float32
``(N, 28, 28, 1)`` or ``(N, 28, 28)``, ``y`` int64 ``(N,)``) and ``run(indices)`` trains
``step(inputs, labels)`` on the batches ``x[indices[i]], y[indices[i]]``, ``i`` in order
(``indices`` int ``(steps, 32)``). The ways, tried in this order, the first that works
kept (``mode``):

- ``"xla-loop"``: one ``tf.function`` whose ``tf.range`` loop gathers each batch from the
  staged tensors and calls the step compiled with XLA: a chunk of training is one call, no
  Python and no NumPy-to-tensor copy per batch;
- ``"xla"``, ``"graph"``, ``"eager"`` (``CompiledStep``): the step compiled with XLA, else
  with ``tf.function``, else as written, called from Python once per batch.

The loop itself is a graph, not XLA: a whole-loop XLA call (``jit_compile=True`` around
the ``tf.range``) computes the same steps but measured 2-3x slower on this 2-core CPU
(``bench/grading_speed.py`` prints both), while the graph loop calls the very XLA
computation the per-step way runs.

**Python side effects.** The first batch of every run goes through ``CompiledStep``: that
call traces the student's step (its Python body runs once, as under any ``tf.function``),
builds the optimizer's variables and picks the mode. Only when it picked ``"xla"`` is the
loop built, and the loop calls that same traced function, so the student's Python code
does not run again: a counter, a list append or a ``print`` in ``train_step`` runs exactly
as often in ``"xla-loop"`` as in ``"xla"`` (once), and what the bar checks, the weights
after every batch, is computed by the same compiled step on the same batches in the same
order. To hold that, the loop is kept only if building it did not run the step's Python
body again (a retrace, counted); else, or if the loop cannot be traced, the run stays
``"xla"``. An error while the loop runs is the step's own (the per-step way would raise it
on the same batch) and is raised, not retried, so no batch is trained twice.
"""

from __future__ import annotations

import numpy as np

from grader.tf_runtime import tf

BATCH_SIZE = 32
MODES = ("xla-loop", "xla", "graph", "eager")


class CompiledStep:
    """A train step compiled with XLA, else with ``tf.function``, else run eagerly.

    The first call tries each way in turn (a step that calls ``.numpy()`` cannot be
    traced, say); the first that works is kept. Only the successful call trains.
    """

    def __init__(self, step):
        self.candidates = [("xla", tf.function(step, jit_compile=True)), ("graph", tf.function(step)),
                           ("eager", step)]
        self.mode = None

    def __call__(self, inputs, labels):
        while self.mode is None:
            name, function = self.candidates[0]
            if len(self.candidates) == 1:
                self.mode = name
                break
            try:
                result = function(inputs, labels)
            except Exception:  # noqa: BLE001 - cannot compile this way: try the next
                self.candidates.pop(0)
                continue
            self.mode = name
            return result
        return self.function(inputs, labels)

    @property
    def function(self):
        """The kept way (after the first call)."""
        return dict(self.candidates)[self.mode]


class StepRunner:
    """``step`` on batches of the staged ``x``, ``y`` picked by index; see the module docstring."""

    def __init__(self, step, x, y, loop: bool = True):
        self.traces = 0

        def counted(inputs, labels):  # runs when the step's Python body runs: on a trace
            self.traces += 1
            return step(inputs, labels)

        self.x, self.y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
        self.single = CompiledStep(counted)
        self.loop, self.try_loop = None, loop

    @property
    def mode(self) -> str | None:
        return "xla-loop" if self.loop is not None else self.single.mode

    def _batch(self, index: np.ndarray):
        index = tf.constant(index, tf.int32)
        return tf.gather(self.x, index), tf.gather(self.y, index)

    def run(self, indices: np.ndarray) -> None:
        """Train on ``indices`` int ``(steps, BATCH_SIZE)``, batch by batch in order."""
        if self.single.mode is None and len(indices):
            self.single(*self._batch(indices[0]))
            indices = indices[1:]
            if self.single.mode == "xla" and self.try_loop:
                self.loop = self._build_loop()
        if self.loop is not None:
            if len(indices):
                self.loop(self.x, self.y, tf.constant(indices, tf.int32))
            return
        for index in indices:
            self.single.function(*self._batch(index))

    def _build_loop(self):
        """The traced loop around the XLA step, or None when it cannot be built as promised."""
        function = self.single.function

        def loop(x, y, indices):
            for i in tf.range(tf.shape(indices)[0]):
                function(tf.gather(x, indices[i]), tf.gather(y, indices[i]))

        traced = tf.function(loop, autograph=True, input_signature=[
            tf.TensorSpec(self.x.shape, self.x.dtype), tf.TensorSpec(self.y.shape, self.y.dtype),
            tf.TensorSpec((None, BATCH_SIZE), tf.int32)])
        before = self.traces
        try:
            concrete = traced.get_concrete_function()
        except Exception:  # noqa: BLE001 - the step cannot be called from a loop: one call per batch
            return None
        return concrete if self.traces == before else None


__all__ = ["BATCH_SIZE", "MODES", "CompiledStep", "StepRunner"]
