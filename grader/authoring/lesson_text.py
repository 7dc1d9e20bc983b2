'''The course notebook's lesson: its text, demo code and where the exercises go.

Data only; ``grader.authoring.notebooks`` turns it into the student and instructor notebooks.
``LESSON`` is the notebook from top to bottom, a list of ``(kind, content)``:

- ``("md", text)``: a markdown cell;
- ``("setup", code)`` / ``("demo", code)``: a code cell the lesson runs (pictures,
  training); it never holds exercise code and is skipped by the autograder;
- ``("exercise", module)``: the exercise cells of ``solutions/<module>.py``, one per
  top-level definition, each after its note from ``PART_NOTES`` (stubs for students,
  reference code for instructors), then a check cell.

No line of reference code may appear here: the student notebook is built from this
text too, and the release's leak check would flag it.
'''

from __future__ import annotations

from textwrap import dedent


def _text(text: str) -> str:
    return dedent(text).strip("\n")


TITLE = _text("""
    # Teaching a computer to read handwritten digits

    In this notebook you build, piece by piece, a program that recognises handwritten digits: a
    convolutional neural network (CNN) trained on MNIST with TensorFlow and Keras. You write the
    pieces yourself (activations, convolution, pooling, data preparation, the model, its training
    loop), check each one with the course grader, then train the whole network and watch it learn.

    **How this notebook works**

    * Run the cells from top to bottom (Shift+Enter). The first code cell sets things up.
    * **Exercise cells** start with a line like `# [convolution.py 5/7]`: the code belongs to the
      course file `convolution.py`, part 5 of 7. Keep that first line, it is how the grader finds
      your code. Replace each `raise NotImplementedError(...)` line with your code; the docstring
      above it says what the function receives, returns and rejects.
    * After each file's exercises, a **check cell** runs the course grader on the cells of that
      file as you last ran them, and prints every check with its points; a failed check says what
      was called, what was expected, what came back and gives a hint. These are the same checks,
      messages and points as `pytest grader/` in a terminal. Edit, re-run the cell, check again.
    * Each file is graded on its own, as a module: only the code in its exercise cells counts. If
      you write a helper function, put it in one of that file's exercise cells.
    * A few cells train networks on all 60,000 training images: a few minutes on a laptop CPU.
      With the environment variable `COURSE_QUICK=1` they train on a small slice instead.
    * To hand in, submit this `.ipynb` file (or its *Download as Python* `.py` export) to the
      autograder; it grades the exercise cells exactly like the check cells do.
""")

SETUP = _text('''
    # Setup: run this cell first.
    import sys
    from pathlib import Path

    # Make the course's `grader` package importable when the notebook runs from the repository.
    for folder in [Path.cwd(), *Path.cwd().parents]:
        if (folder / "grader" / "__init__.py").is_file():
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            break

    from grader.tf_runtime import import_tensorflow

    import_tensorflow()  # TensorFlow without its start-up log lines

    import matplotlib.pyplot as plt
    import numpy as np

    from grader.mnist import load_data
    from grader.notebook.check import check, quick_mode

    QUICK = quick_mode()  # True with COURSE_QUICK=1: train on a small slice (CI); else the full lesson
    (x_train, y_train), (x_test, y_test) = load_data()  # the course's copy of MNIST, no download
    print(f"{len(x_train)} training and {len(x_test)} test images" + (" (quick mode)" if QUICK else ""))
''')

HELPERS = _text('''
    # Plotting helpers for the pictures of this lesson (nothing to do for you here).
    def show_images(images, titles=(), columns=10, size=1.4, cmap="gray"):
        """Show grey images side by side, with a title under each."""
        images = list(images)
        rows = -(-len(images) // columns)
        fig, axes = plt.subplots(rows, columns, figsize=(columns * size, rows * size * 1.25), squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for ax, image, title in zip(axes.flat, images, list(titles) + [""] * len(images)):
            ax.imshow(image, cmap=cmap)
            ax.set_title(title, fontsize=9)
        plt.tight_layout()
        plt.show()


    def plot_curves(history, bar, title):
        """Loss and accuracy per epoch, on the training and the test set."""
        epochs = [record["epoch"] for record in history]
        fig, (loss_ax, accuracy_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
        for split, style in (("train", "o-"), ("test", "s--")):
            loss_ax.plot(epochs, [r[f"{split}_loss"] for r in history], style, label=split)
            accuracy_ax.plot(epochs, [r[f"{split}_accuracy"] for r in history], style, label=split)
        accuracy_ax.axhline(bar, color="gray", linewidth=1, label=f"bar {bar:.0%}")
        loss_ax.set(xlabel="epoch", ylabel="loss", title=f"{title}: loss")
        accuracy_ax.set(xlabel="epoch", ylabel="accuracy", title=f"{title}: accuracy")
        for ax in (loss_ax, accuracy_ax):
            ax.set_xticks(epochs)
            ax.legend()
        plt.tight_layout()
        plt.show()
''')


LESSON: list[tuple[str, str]] = [
    ("md", TITLE),
    ("setup", SETUP),
    ("demo", HELPERS),

    # --- 1. seeing -------------------------------------------------------------------------
    ("md", _text("""
        ## 1. How people and machines see images

        Look at a handwritten 7 and you see it at once: a bar at the top and a stroke slanting
        down. You never think about the ink dots. Your eyes and brain work in stages: cells in the
        visual cortex react to small, simple patterns in a small patch of what you see (an edge at
        some angle, a bright spot), later stages combine those into strokes, corners and loops,
        and only the last stages name the shape.

        A computer receives none of that. It gets a grid of numbers, one per pixel, and nothing
        says which numbers belong to the same stroke. Recognising a digit means computing, from
        784 numbers, which of ten answers is right. Writing that function by hand ("a 7 has a bar
        at the top unless...") fails quickly: people write far too differently. Instead we choose
        a function with many adjustable parameters and tune them on 60,000 examples whose answer
        we know. That is machine learning.

        A **convolutional** network copies the brain's strategy: its first layer looks for small
        local patterns everywhere in the image, later layers combine what the first one found.
        Here are the first training images, with the answer (the *label*) stored with each:
    """)),
    ("demo", _text('''
        show_images(x_train[:20], [f"label {label}" for label in y_train[:20]])
    ''')),

    # --- 2. pixels ---------------------------------------------------------------------------
    ("md", _text("""
        ## 2. Pixels are numbers

        Each MNIST image is 28 x 28 grey pixels. A pixel is an integer from 0 (black, the
        background) to 255 (white, the ink), stored as `uint8` (one byte). So one image is a
        NumPy array of shape `(28, 28)`: the first index is the row, counted from the top, the
        second the column, counted from the left. The training set stacks 60,000 of them into
        an array of shape `(60000, 28, 28)`; the labels are an array of shape `(60000,)`.

        A colour photo has three numbers per pixel (red, green, blue), shape `(H, W, 3)`; the
        third axis is the *channel* axis. A grey image has one channel. Keras's convolution
        layers expect the channel axis to be there, even when it has length 1.

        Below, the top-left part of the first training image printed as numbers, and the same
        numbers drawn as grey levels: the picture *is* the array.
    """)),
    ("demo", _text('''
        digit = x_train[0]
        print(f"shape {digit.shape}, dtype {digit.dtype}, values from {digit.min()} to {digit.max()}")
        crop = digit[4:16, 4:16]
        print(crop)

        fig, ax = plt.subplots(figsize=(6, 6))
        ax.imshow(crop, cmap="gray")
        for (row, column), value in np.ndenumerate(crop):
            ax.text(column, row, str(value), ha="center", va="center", fontsize=7,
                    color="black" if value > 128 else "white")
        ax.set_title("rows 4-15, columns 4-15 of the first training image")
        ax.axis("off")
        plt.show()
    ''')),

    # --- 3. outputs ----------------------------------------------------------------------------
    ("md", _text("""
        ## 3. What comes out: ten scores, probabilities and one-hot answers

        The network answers with **ten numbers**, one per digit. Its last layer first computes
        ten raw scores, called *logits*; they can be any real numbers, and a larger score means
        "more likely". To read them as probabilities we apply **softmax**:

        $$\\mathrm{softmax}(z)_i = \\frac{e^{z_i}}{\\sum_j e^{z_j}}$$

        Every exponential is positive, and dividing by their sum makes the ten values add up to
        1. Worked example with three classes, logits `[2.0, 1.0, 0.1]`:
        $e^{2} = 7.389$, $e^{1} = 2.718$, $e^{0.1} = 1.105$, sum $11.212$, so the probabilities
        are `[0.659, 0.242, 0.099]`. The largest logit gets the largest probability, and the
        order never changes.

        **A trap:** `np.exp(1000.0)` is `inf` in floating point, and `inf / inf` is `nan`.
        Softmax does not change if the same number is subtracted from every logit (the factor
        cancels above and below the fraction), so subtract the largest logit first: the largest
        exponent is then $e^0 = 1$ and nothing overflows. Logits `[1000, 1001, 1002]` give the
        same probabilities as `[-2, -1, 0]`.

        **The right answer as a vector.** The label 3 is written as the vector with a 1 at
        position 3 and 0 elsewhere, `[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]`: its **one-hot** encoding.
        It is the probability distribution of a perfectly sure network. Training compares the
        network's probabilities with it using the *cross-entropy* $-\\log p_{\\text{label}}$:
        0 when the network gives the right digit probability 1, large when it gives it almost 0.
        (The *sparse* version of the loss, used in this course, takes the label 3 directly and
        saves building the one-hot vectors.)

        **Inside the network** every layer but the last ends with an activation function. The
        layers themselves only multiply and add, and a stack of such linear maps is still one
        linear map; a non-linearity between them is what lets depth help. This course uses the
        **ReLU**, $\\mathrm{relu}(x) = \\max(x, 0)$: negative values become 0, positive values pass.

        Your first exercise file, `activations.py`, has both functions.
    """)),
    ("exercise", "activations"),
    ("md", _text("""
        With your functions: the worked example, the overflow trap, and the probabilities next
        to a one-hot target.
    """)),
    ("demo", _text('''
        print("relu   ", relu(np.array([-2.0, -0.5, 0.0, 1.5, 3.0])))
        print("softmax", np.round(softmax(np.array([2.0, 1.0, 0.1])), 3))
        print("stable ", np.round(softmax(np.array([1000.0, 1001.0, 1002.0])), 3))

        logits = np.array([0.5, -1.0, 0.2, 3.1, -0.4, 1.2, -2.0, 0.3, 1.9, 0.0])
        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
        left.bar(range(10), softmax(logits))
        left.set(title="softmax of ten logits", xlabel="digit", ylabel="probability", xticks=range(10))
        right.bar(range(10), np.arange(10) == 3, color="tab:green")
        right.set(title="one-hot target for the label 3", xlabel="digit", xticks=range(10))
        plt.tight_layout()
        plt.show()
    ''')),

    # --- 4. convolution --------------------------------------------------------------------
    ("md", _text("""
        ## 4. Convolution: one small pattern, looked for everywhere

        A **kernel** (or filter) is a small grid of weights, say 3 x 3. Place it on the top-left
        3 x 3 patch of the image, multiply each weight with the pixel under it, add the nine
        products: that sum is the first output value. Slide one pixel to the right and do it
        again, to the end of the row, then one row down. The outputs form a new image, the
        **feature map**: large where the patch looks like the kernel, small or negative
        elsewhere. The same nine weights are used at every position, so a layer finds its
        pattern wherever it is, with very few parameters.

        **Worked example** (the lesson's). A 5 x 5 image and a 3 x 3 kernel:

        ```
        image              kernel
        3  0  1  2  7      1  0  -1
        1  5  8  9  3      1  0  -1
        2  7  2  5  1      1  0  -1
        0  1  3  1  7
        4  2  1  6  2
        ```

        At output position (0, 0) the kernel covers rows 0-2 and columns 0-2. Row by row:
        $3 \\cdot 1 + 0 \\cdot 0 + 1 \\cdot (-1) = 2$, then $1 - 8 = -7$, then $2 - 2 = 0$; the
        sum is **-5**. Moving one column to the right gives -4, and so on. The kernel fits in
        3 x 3 positions, so the feature map is

        ```
         -5  -4   0
        -10  -2   2
          0  -2  -4
        ```

        What does this kernel look for? It computes "left column minus right column". On a
        region of constant brightness the two cancel and it gives 0; where the image turns from
        dark to bright going right it is strongly negative, from bright to dark strongly
        positive. It is a **vertical-edge detector**. A CNN does not get its kernels from us: it
        learns them from the data.

        **Sizes.** Without padding (`"valid"`) the kernel must fit inside the image, so an
        `H x W` image and a `kh x kw` kernel give `(H - kh + 1) x (W - kw + 1)` outputs, here
        `3 x 3`. With a **stride** `s` the kernel jumps `s` pixels at a time:
        `Ho = (H - kh) // s + 1`. With `"same"` padding, zeros are added around the image so
        that `Ho = ceil(H / s)`; the rows needed are `pad = max((Ho - 1) * s + kh - H, 0)`, with
        `pad // 2` above and the rest below (TensorFlow's rule: an odd extra row goes to the
        bottom). Example: `H = 6`, `kh = 3`, `s = 2` gives `Ho = 3`, `pad = 1`: no row above, one
        below.

        **Convolution or cross-correlation?** In mathematics a convolution flips the kernel
        before sliding it. Keras and TensorFlow do not flip, and still say "convolution"; to
        match their numbers, do not flip either.

        **A real layer** works on a batch of images with several channels. Its kernels have
        shape `(kh, kw, Cin, Cout)`: each of the `Cout` output channels has its own
        `kh x kw x Cin` kernel that spans all input channels, plus one bias:

        $$\\text{out}[n, i, j, o] = \\sum_{a, b, c} x[n, i s + a, j s + b, c] \\cdot k[a, b, c, o] + \\text{bias}[o]$$

        The first layer of our CNN has 32 kernels of 3 x 3 on one channel:
        $3 \\cdot 3 \\cdot 1 \\cdot 32 + 32 = 320$ parameters.
    """)),
    ("exercise", "convolution"),
    ("md", _text("""
        Your `conv2d` on the worked example, then on a real digit with two edge detectors: the
        vertical one from the example and its transpose, which finds horizontal edges (red:
        positive, blue: negative).
    """)),
    ("demo", _text('''
        example_image = np.array([[3, 0, 1, 2, 7], [1, 5, 8, 9, 3], [2, 7, 2, 5, 1], [0, 1, 3, 1, 7], [4, 2, 1, 6, 2]])
        vertical_edges = np.array([[1, 0, -1]] * 3)
        print(conv2d(example_image, vertical_edges))  # the lesson's answer: [[-5 -4 0] [-10 -2 2] [0 -2 -4]]

        digit = x_train[0] / 255.0
        feature_maps = {
            "input (28 x 28)": digit,
            "vertical edges (26 x 26)": conv2d(digit, vertical_edges),
            "horizontal edges (26 x 26)": conv2d(digit, vertical_edges.T),
        }
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
        for ax, (title, image) in zip(axes, feature_maps.items()):
            limit = np.abs(image).max()
            shown = (ax.imshow(image, cmap="gray") if ax is axes[0]
                     else ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit))
            ax.set_title(title)
            ax.axis("off")
            fig.colorbar(shown, ax=ax, shrink=0.8)
        plt.tight_layout()
        plt.show()
    ''')),

    # --- 5. pooling ------------------------------------------------------------------------
    ("md", _text("""
        ## 5. Max pooling: keep the strongest answer of each window

        A feature map says, for every position, how strongly a pattern was found there. Often
        we only need to know whether it was found *somewhere around here*. **Max pooling** cuts
        the map into small windows and keeps the largest value of each. With 2 x 2 windows and
        stride 2 (the windows do not overlap) it halves the height and the width.

        **Worked example** (the lesson's): a 4 x 4 map and its four 2 x 2 windows

        ```
         1  20 | 15   3
         6   9 |  7   2          max of each window:
        -------+-------              20  15
        19   4 | 25   1              19  25
         3   8 |  0  11
        ```

        The top-left window holds 1, 20, 6, 9: its maximum is 20. The others give 15, 19 and
        25, so the result is `[[20, 15], [19, 25]]`.

        Why pool? The maps get smaller, so later layers are cheaper; a stroke moved by one
        pixel often stays in the same window and gives the same maximum, so the network
        tolerates small shifts; and pooling has no weights to learn. Each channel is pooled on
        its own: unlike a convolution, pooling never mixes channels.

        Sizes work as for a convolution, with the window in place of the kernel. With `"same"`
        padding the padded cells must never win the maximum, so they hold the smallest
        possible value (`-inf` for floats), not 0: a window of negative numbers would otherwise
        wrongly give 0.
    """)),
    ("exercise", "pooling"),
    ("md", _text("""
        The worked example through your function, then a feature map of the digit (edges found
        by the convolution, negatives cut by ReLU) before and after 2 x 2 pooling: half the
        size, the same strokes.
    """)),
    ("demo", _text('''
        lesson_map = np.array([[1, 20, 15, 3], [6, 9, 7, 2], [19, 4, 25, 1], [3, 8, 0, 11]])
        print(max_pool2d(lesson_map, pool_size=2))

        edges = relu(conv2d(x_train[0] / 255.0, vertical_edges))
        pooled = max_pool2d(edges, pool_size=2)
        fig, axes = plt.subplots(1, 2, figsize=(8, 4))
        for ax, (title, image) in zip(axes, [(f"feature map {edges.shape}", edges),
                                             (f"after 2 x 2 max pooling {pooled.shape}", pooled)]):
            ax.imshow(image, cmap="gray")
            ax.set_title(title)
            ax.axis("off")
        plt.tight_layout()
        plt.show()
    ''')),

    # --- 6. MNIST ---------------------------------------------------------------------------
    ("md", _text("""
        ## 6. MNIST, and getting it ready for a network

        MNIST holds 70,000 handwritten digits collected by the US National Institute of
        Standards and Technology: 60,000 for training and 10,000 for testing, written by
        different people. Each digit was scaled to fit a 20 x 20 box and centred in a 28 x 28
        image. The **test set** is never used to tune the network; it measures how well the
        network does on digits it has never seen, which is the only accuracy that matters.
        (Here `load_data()` reads the course's own copy of the file and checks its checksum, so
        nothing is downloaded.)

        Before the network sees the data:

        * **Normalise**: divide the pixels by 255 to get floats in [0, 1]. Networks learn best
          from small inputs of similar size; values up to 255 would make the first layer's sums
          huge and the training steps badly scaled.
        * **Add the channel axis** for the convolution: `(N, 28, 28)` becomes `(N, 28, 28, 1)`.
        * **One-hot encode** the labels, for a loss that wants probability vectors (section 3).
        * **Batch and shuffle** with `tf.data`: the network learns from batches of 32 images,
          in a new random order every epoch (one pass over the training set), so that the
          training steps do not repeat the same sequence. The test set is only measured, in
          order.
    """)),
    ("demo", _text('''
        print("training images", x_train.shape, x_train.dtype, "labels", y_train.shape, y_train.dtype)
        print("test images    ", x_test.shape, x_test.dtype, "labels", y_test.shape, y_test.dtype)
        print("images per digit in the training set:", np.bincount(y_train, minlength=10))
    ''')),
    ("exercise", "preprocessing"),
    ("md", "Your preprocessing on the first training images:"),
    ("demo", _text('''
        images = normalize(x_train[:5])
        print("normalize       ", x_train[:5].dtype, x_train[:5].max(), "->", images.dtype, images.max())
        print("add_channel_axis", images.shape, "->", add_channel_axis(images).shape)
        print("one_hot of", y_train[:3], "\\n", one_hot(y_train[:3]))
        train_batches, test_batches = make_datasets(add_channel_axis(images), y_train[:5],
                                                    add_channel_axis(images), y_train[:5], batch_size=2)
        for batch_images, batch_labels in train_batches.take(1):
            print("first training batch:", batch_images.shape, batch_labels.numpy())
    ''')),

    # --- 7. the CNN --------------------------------------------------------------------------
    ("md", _text("""
        ## 7. The convolutional network

        The course's CNN has four layers:

        | layer | what it does | output shape | parameters |
        | --- | --- | --- | --- |
        | `conv1` | 32 kernels of 3 x 3, then ReLU | `(N, 26, 26, 32)` | 3·3·1·32 + 32 = 320 |
        | `flatten` | lines the 21,632 values up in one vector | `(N, 21632)` | 0 |
        | `dense1` | 128 units, each sees all 21,632 values, then ReLU | `(N, 128)` | 21632·128 + 128 = 2,769,024 |
        | `dense2` | 10 units, then softmax: one probability per digit | `(N, 10)` | 128·10 + 10 = 1,290 |

        That is 2,770,634 parameters, almost all of them in `dense1`. The convolution, which
        shares its nine weights per kernel over all positions, needs only 320. (Bigger CNNs put
        max pooling and more convolutions between `conv1` and `flatten`; this small one reaches
        98% without them.)

        In Keras a model can be a subclass of `keras.Model`: `__init__` creates the layers (so
        Keras tracks their weights) and `call(x)` says how a batch flows through them. The
        weights are created on the first call, when the input shape is known.
    """)),
    ("exercise", "model"),
    ("md", "Your model on one image: the parameter count must be 2,770,634."),
    ("demo", _text('''
        cnn = MNISTModel()
        probabilities = cnn(normalize(x_train[:1])[..., np.newaxis])
        print("output", probabilities.shape, "sum", float(np.sum(probabilities)))
        cnn.summary()
    ''')),

    # --- 8. training -------------------------------------------------------------------------
    ("md", _text("""
        ## 8. Training with your own loop

        Training repeats one **step** thousands of times, on one batch each time:

        1. **Forward pass**: compute the predictions for the batch, with `training=True` (some
           layers, such as Dropout, behave differently while training).
        2. **Loss**: one number saying how wrong the predictions are, here the sparse
           categorical cross-entropy, averaged over the batch.
        3. **Gradients**: for every weight, how the loss changes when that weight changes a
           little. `tf.GradientTape` records the forward pass so TensorFlow can go back through
           it (back-propagation): `tape.gradient(loss, weights)`.
        4. **Update**: the optimizer moves every weight a small step against its gradient.
           Adam adapts the step size of each weight from the history of its gradients.

        A **test step** does only the forward pass, with `training=False`, and never changes a
        weight: otherwise the test set would leak into the training. Keras **metrics** keep
        running averages (the mean loss, the fraction of correct answers) over an epoch; reset
        them at the start of each one.

        Your `train_step` and `test_step` are plain Python. Wrapped in `tf.function`, the same
        code is compiled into a TensorFlow graph and runs several times faster; the demo below
        does that before training.
    """)),
    ("exercise", "training"),
    ("md", _text("""
        Now the whole pipeline, with your code only: your preprocessing, your model and your
        training loop, for the lesson's 5 epochs (2 epochs on a small slice in quick mode).
        The full run takes a few minutes on a laptop CPU; the lesson's bar is 98% test accuracy.
    """)),
    ("demo", _text('''
        import keras
        import tensorflow as tf

        n_train, n_test, epochs = (3000, 1000, 2) if QUICK else (len(x_train), len(x_test), 5)
        cnn_train_images = add_channel_axis(normalize(x_train[:n_train]))
        cnn_test_images = add_channel_axis(normalize(x_test[:n_test]))
        train_ds, test_ds = make_datasets(cnn_train_images, y_train[:n_train].astype("int64"),
                                          cnn_test_images, y_test[:n_test].astype("int64"),
                                          batch_size=32, seed=0)

        keras.utils.set_random_seed(0)
        cnn = MNISTModel()
        trainer = Trainer(cnn)
        trainer.train_step = tf.function(trainer.train_step)  # compiled: same code, faster
        trainer.test_step = tf.function(trainer.test_step)
        cnn_history = trainer.fit(train_ds, test_ds, epochs=epochs)

        final = cnn_history[-1]["test_accuracy"]
        verdict = "quick mode: too little data for the bar" if QUICK else ("reached" if final >= 0.98 else "NOT reached")
        print(f"CNN test accuracy {final:.2%}; the bar is 98%: {verdict}")
    ''')),
    ("md", "The training curves, and some of the test digits the network gets wrong:"),
    ("demo", _text('''
        plot_curves(cnn_history, bar=0.98, title="CNN, custom loop")

        predicted = np.argmax(cnn.predict(cnn_test_images, verbose=0), axis=1)
        wrong = np.flatnonzero(predicted != y_test[:n_test])
        print(f"{len(wrong)} of {n_test} test digits misclassified; under each: its label (and the network's answer)")
        show_images(x_test[wrong[:20]], [f"{y_test[i]} (said {predicted[i]})" for i in wrong[:20]])
    ''')),

    # --- 9. keras -----------------------------------------------------------------------------
    ("md", _text("""
        ## 9. The same task the short way: a Keras `Sequential` model

        `keras.Sequential` stacks layers in a list, the output of each being the input of the
        next; `compile` chooses the optimizer, the loss and the metrics; `fit` runs the whole
        training loop you just wrote. This model has no convolution: it flattens the 784 pixels
        into one vector, uses one hidden layer of 128 ReLU units, and **Dropout(0.2)**: during
        training only, it zeroes a random 20% of those 128 values at every step (and scales the
        rest up to compensate), so the network cannot lean on any single unit. It is a cheap
        guard against overfitting, and does nothing at test time.

        Start the model with `keras.Input(shape=(28, 28))`; older tutorials pass
        `input_shape=` to the first layer, which Keras 3 no longer accepts.
    """)),
    ("exercise", "keras_model"),
    ("md", "Training it with `fit`; the lesson's bar for this model is 97% test accuracy."),
    ("demo", _text('''
        keras.utils.set_random_seed(0)
        dense_model = build_keras_model()
        fitted = dense_model.fit(normalize(x_train[:n_train]), y_train[:n_train], epochs=epochs, batch_size=32,
                                 validation_data=(normalize(x_test[:n_test]), y_test[:n_test]), verbose=2)
        keras_history = [
            {"epoch": epoch + 1, "train_loss": fitted.history["loss"][epoch],
             "train_accuracy": fitted.history["accuracy"][epoch], "test_loss": fitted.history["val_loss"][epoch],
             "test_accuracy": fitted.history["val_accuracy"][epoch]}
            for epoch in range(epochs)
        ]
        plot_curves(keras_history, bar=0.97, title="Keras Sequential")
        final = keras_history[-1]["test_accuracy"]
        verdict = "quick mode: too little data for the bar" if QUICK else ("reached" if final >= 0.97 else "NOT reached")
        print(f"Keras model test accuracy {final:.2%}; the bar is 97%: {verdict}")
    ''')),

    # --- 10. score ----------------------------------------------------------------------------
    ("md", _text("""
        ## 10. Your score

        The cell below grades every exercise file at once: the same table as `pytest grader/`,
        out of 100 points. The accuracy checks train your models on all of MNIST (the grader
        remembers runs of unchanged code, so a second check is quick).

        To hand in, save this notebook and submit the `.ipynb` file (or its Python export) to
        the autograder. Working in a terminal instead? The same exercises live in `exercises/`,
        and `pytest grader/` grades them.
    """)),
    ("check", ""),
]


#: The note above each exercise cell, by ``module.definition`` (``module.header`` for the
#: cell with the module's docstring and imports). A definition without a note gets one
#: built from its docstring's first line.
PART_NOTES: dict[str, str] = {
    "activations.header": _text("""
        ### Exercise file `activations.py`

        The first cell of each exercise file holds the file's own documentation and its
        imports. Run it before the cells below it.
    """),
    "activations.relu": _text("""
        **`relu(x)`**: `max(x, 0)` element by element, in a new array of the same shape and
        dtype (leave `x` itself unchanged). Reject arrays that do not hold numbers with a
        `TypeError`.
    """),
    "activations.softmax": _text("""
        **`softmax(logits, axis=-1)`**: probabilities along `axis`, each slice summing to 1,
        computed the stable way (subtract the maximum of each slice first; `keepdims=True`
        keeps the axis for broadcasting). Bad input raises `ValueError`/`TypeError` naming the
        argument.
    """),
    "convolution.header": _text("""
        ### Exercise file `convolution.py`

        Its documentation and imports first. The three small helpers after it check the
        arguments, so that both public functions reject bad input with the same clear
        messages; then the size computation, `conv2d` on one grey image with plain loops, and
        `conv2d_layer`, a whole `Conv2D` layer on a batch.
    """),
    "convolution._output_size_and_padding": _text("""
        **`_output_size_and_padding`**: the output length and the padding before and after,
        along one axis, with the formulas of section 4 (`"valid"`: the kernel must fit).
    """),
    "convolution.conv2d": _text("""
        **`conv2d(image, kernel, stride=1, padding="valid")`**: the worked example, in code.
        Pad with zeros if `"same"`, then for every output position multiply the patch under
        the kernel with the kernel and add up. Compute in floating point so that `uint8`
        pixels cannot overflow.
    """),
    "convolution.conv2d_layer": _text("""
        **`conv2d_layer(images, kernels, biases, stride=1, padding="valid")`**: what
        `keras.layers.Conv2D` computes, on a batch `(N, H, W, Cin)` with kernels
        `(kh, kw, Cin, Cout)` and one bias per output channel. Loops work; NumPy's
        `sliding_window_view` and `tensordot` make it fast.
    """),
    "pooling.header": "### Exercise file `pooling.py`",
    "pooling._check_positive_int": _text("""
        **`_check_positive_int`**: a helper that accepts a positive `int` and rejects
        anything else (`TypeError` for floats and booleans, `ValueError` below 1).
    """),
    "pooling._output_size_and_padding": _text("""
        **`_output_size_and_padding`**: like the one in `convolution.py`, with the pooling
        window in place of the kernel (each file is graded on its own, so it has its own copy).
    """),
    "pooling.max_pool2d": _text("""
        **`max_pool2d(image, pool_size=2, stride=None, padding="valid")`**: on `(H, W)` or
        `(H, W, C)`, each channel on its own; `stride=None` means windows side by side
        (`stride = pool_size`). The lesson's example must give `[[20, 15], [19, 25]]`.
    """),
    "preprocessing.header": "### Exercise file `preprocessing.py`",
    "preprocessing._as_numeric_array": _text("""
        **`_as_numeric_array`** and **`_check_positive_int`**: the same helpers as in the
        files before (copy your code if you like: each file is graded on its own).
    """),
    "preprocessing._check_positive_int": "",
    "preprocessing.normalize": _text("""
        **`normalize(images)`**: a new `float32` array with values in [0, 1]; the input stays
        untouched. Values outside [0, 255] mean the images were normalised already: reject them.
    """),
    "preprocessing.add_channel_axis": "**`add_channel_axis(images)`**: `(N, H, W)` becomes `(N, H, W, 1)`.",
    "preprocessing.one_hot": _text("""
        **`one_hot(labels, num_classes=10)`**: one row per label, a 1 in the label's column and
        0 elsewhere, as `float32`. Hint: row `k` of the identity matrix is the one-hot vector
        of class `k`.
    """),
    "preprocessing.make_datasets": _text("""
        **`make_datasets(...)`**: two `tf.data.Dataset`s of `(images, labels)` batches;
        the training one shuffled with a new order every epoch, the test one in order.
    """),
    "model.header": "### Exercise file `model.py`",
    "model.MNISTModel": _text("""
        **`MNISTModel`**: create the four layers of the table in `__init__` with exactly these
        attribute names (`conv1`, `flatten`, `dense1`, `dense2`), and chain them in `call`.
    """),
    "training.header": "### Exercise file `training.py`",
    "training.Trainer": _text("""
        **`Trainer`**: the loss, the optimizer and four metrics in `__init__`; one training
        step, one test step, resetting the metrics, and `fit`, the loop over epochs that
        returns one record per epoch and prints one line each.
    """),
    "keras_model.header": "### Exercise file `keras_model.py`",
    "keras_model.build_keras_model": _text("""
        **`build_keras_model()`**: the `Sequential` model described above, compiled with the
        `adam` optimizer, the sparse categorical cross-entropy loss and the accuracy metric.
    """),
}

#: The markdown before each exercise file's check cell.
CHECK_NOTE = _text("""
    **Check `{module}.py`.** The grader runs on the cells of `{module}.py` as you last ran them
    and prints each check with its points, then the score table (`pytest grader/` in a terminal
    gives the same).{extra}
""")

#: Extra words for the check notes of exercises whose checks train on MNIST.
CHECK_EXTRA = {
    "model": " Its accuracy check trains your model on MNIST: allow a few minutes the first time.",
    "training": " Its accuracy check trains the CNN with your `train_step`: allow a few minutes the first time.",
    "keras_model": " Its accuracy check trains your model with `fit`: about a minute the first time.",
}
