"""The lesson's two networks as the grader knows them: the shapes of their weight arrays.

Shared by both sides of the isolation boundary: the bar probe (``grader.probes.bars``)
checks that the student's trained model has these weights before sending them, and the
grading process (``grader.checking``) checks them again on arrival and runs its own
forward pass on them.

- ``"cnn"``: Conv2D 32 3x3 (kernel, bias), Dense 128 on 26*26*32 (kernel, bias), Dense 10;
- ``"keras"``: Flatten, Dense 128 on 28*28 (kernel, bias), Dropout, Dense 10.
"""

WEIGHT_SHAPES: dict[str, tuple[tuple[int, ...], ...]] = {
    "cnn": ((3, 3, 1, 32), (32,), (26 * 26 * 32, 128), (128,), (128, 10), (10,)),
    "keras": ((28 * 28, 128), (128,), (128, 10), (10,)),
}

__all__ = ["WEIGHT_SHAPES"]
