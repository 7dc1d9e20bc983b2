"""The attack and fault corpus: hostile or broken submissions and what each must get.

Every case is the reference solution (``solutions/``) plus ONE hostile change, built
into a submissions folder by ``build_class``. Most changes go into
``preprocessing.add_channel_axis`` (one 1-point check calls it) or into
``activations``, so a case costs few worker restarts, and the model/training/keras
modules stay the reference ones, so the accuracy bars replay from the training cache.

A case says which student ``status`` it must get and, in ``broken``, the most each
damaged exercise may score (below its full points, so the damage is visible); every
other exercise must keep its full points. Attacks that try to escape the sandbox
(forging results, reading the data, the network) are *canaries*: if any attempt
succeeds, ``relu`` starts returning garbage, so an escape costs points and the test
sees it. Paths the attacks aim at are filled in at build time (``@OUT@``...), as if
the attacker knew them.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from grader.paths import EXERCISE_MODULES, REPO_ROOT, SOLUTIONS_DIR

#: Written by the forging attacks; assembled at run time so tracebacks never contain it.
MARKER_PARTS = ("FORGED", "-BY-", "ATTACK")
ESCAPE_FILES = ("/tmp/course-attack-escaped.txt", "/var/tmp/course-attack-escaped.txt",
                "/dev/shm/course-attack-escaped.txt")


@dataclass(frozen=True)
class Case:
    """One submission of the corpus and the outcome it must get."""

    id: str
    attack: str  # what it does, for the corpus table
    build: Callable[[Path, dict], Path]
    status: str = "graded"
    broken: dict = field(default_factory=dict)  # exercise -> highest score allowed


# -- building blocks -----------------------------------------------------------------------

def reference_modules() -> dict[str, str]:
    return {name: (SOLUTIONS_DIR / f"{name}.py").read_text() for name in EXERCISE_MODULES}


def _fill(code: str, ctx: dict) -> str:
    for key, value in ctx.items():
        code = code.replace(f"@{key.upper()}@", str(value))
    return code


def folder(changes: dict[str, str] | None = None, prepend: dict[str, str] | None = None):
    """A folder entry: the reference modules, with code appended/prepended to some."""

    def build(root: Path, ctx: dict) -> Path:
        modules = reference_modules()
        for name, code in (changes or {}).items():
            modules[name] += "\n\n" + _fill(code, ctx)
        for name, code in (prepend or {}).items():
            modules[name] = _fill(code, ctx) + "\n" + modules[name]
        entry = root / ctx["id"]
        entry.mkdir()
        for name, text in modules.items():
            (entry / f"{name}.py").write_text(text)
        return entry

    return build


def channel_axis(body: str, imports: str = "") -> Callable:
    """Replace ``preprocessing.add_channel_axis`` with ``body`` (indented function body)."""
    code = f"{imports}\n\ndef add_channel_axis(images):\n" + "\n".join(f"    {line}" for line in body.splitlines())
    return folder({"preprocessing": code})


def broken_relu(preamble: str) -> Callable:
    """``preamble`` at import of activations.py, then a relu that is wrong (no clipping)."""
    return folder({"activations": preamble + "\n\ndef relu(x):\n    return np.array(x, dtype=float)\n"})


CANARY = '''
_ESCAPES = []
_reference_relu = relu


def _attempt(action, *args):
    """Run one escape attempt; remember it if it worked."""
    try:
        action(*args)
    except BaseException:
        return
    _ESCAPES.append(action.__name__)


def relu(x):
    """Correct while every escape failed, garbage after any success."""
    return _reference_relu(x) if not _ESCAPES else -np.ones_like(np.asarray(x, dtype=float))
'''


def canary(attempts: str) -> Callable:
    """The reference activations.py plus escape ``attempts`` (each through ``_attempt``)."""
    return folder({"activations": CANARY + "\n" + attempts})


# -- the attacks -------------------------------------------------------------------------

FORGE = '''
import json, os
_MARK = "FORGED" + "-BY-" + "ATTACK"
_FORGED = json.dumps({"score": 100.0, "max_score": 100.0, "tests": [], "output": _MARK})


def _write(path, text=_FORGED):
    with open(path, "w") as stream:
        stream.write(text)


def _append(path, text):
    with open(path, "a") as stream:
        stream.write(text)


for _path in ("@OUT@/@VICTIM@/results.json", "@OUT@/@ID@/results.json", "@OUT@/@ID@/grading.json",
              "@OUT@/summary.json", "@OUT@/.train_cache/forged.json", "@REPO@/grader/report.py",
              "@SUBMISSIONS@/@VICTIM@/activations.py", "/results.json", "/usr/lib/results.json"):
    _attempt(_write, _path)
_attempt(_append, "@OUT@/gradebook.csv", "@ID@,8,20,10,14,14,22,12,100,graded,1.0," + _MARK + "\\n")
for _path in ("results.json", "../../results.json", *@ESCAPE_FILES@):
    try:
        _write(_path)  # the sandbox's own scratch space (if it exists): allowed, gone with the worker
    except OSError:
        pass
print("@ID@,8,20,10,14,14,22,12,100,graded,1.0," + _MARK)  # a forged gradebook row on stdout
'''

DATA_READ = '''
import os

def _read(path):
    if os.path.isdir(path):
        os.listdir(path)
        return
    with open(path, "rb") as stream:
        stream.read(16)


for _path in ("@REPO@/data_cache/mnist.npz", "/work/shared/data/mnist.npz", "@OUT@/.train_cache",
              "@SUBMISSIONS@/@VICTIM@/activations.py", "@REPO@/solutions/activations.py", "/root/.bashrc",
              "/etc/shadow"):
    _attempt(_read, _path)
_attempt(lambda: __import__("grader.mnist", fromlist=["load_data"]).load_data())
_attempt(lambda: __import__("keras").datasets.mnist.load_data())
'''

DATA_DELETE = '''
import os, shutil
_attempt(os.remove, "@REPO@/data_cache/mnist.npz")
_attempt(os.chmod, "@REPO@/data_cache/mnist.npz", 0o000)
_attempt(shutil.rmtree, "@REPO@/data_cache")
_attempt(os.rename, "@REPO@/data_cache", "@REPO@/data_cache_gone")
_attempt(shutil.rmtree, "@OUT@/@VICTIM@")
_attempt(os.remove, "@REPO@/grader/__init__.py")
'''

SOCKETS = '''
import socket


def _tcp(host, port):
    with socket.create_connection((host, port), timeout=2):
        pass


def _udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"x", ("8.8.8.8", 53))
        sock.recvfrom(16)


def _listen():
    with socket.create_server(("0.0.0.0", 8765)) as server:
        server.settimeout(0.5)
        server.accept()  # nobody outside can reach it


_attempt(_tcp, "1.1.1.1", 80)
_attempt(_tcp, "127.0.0.1", 22)
_attempt(_udp)
_attempt(socket.getaddrinfo, "example.com", 80)
_attempt(_listen)
'''

PATCH_NUMPY = '''
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, bool)
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None
'''

PATCH_PYTEST = '''
import sys
import pytest
import _pytest.outcomes
pytest.fail = pytest.skip = pytest.xfail = lambda *args, **kwargs: None
_pytest.outcomes.fail = pytest.fail


class _AlwaysPass:
    def __getattr__(self, name):
        return lambda *args, **kwargs: None


sys.modules["pytest"] = _AlwaysPass()
'''

PATCH_BUILTINS = '''
import builtins
builtins.all = lambda iterable: True
builtins.any = lambda iterable: True
builtins.AssertionError = type("AssertionError", (Exception,), {})
'''

PATCH_GRADER = '''
import grader.checking.expectations
import grader.plain
import grader.probes.common
import grader.report

grader.probes.common._same = lambda old, new: True  # hide in-place changes
grader.checking.expectations.expect_close = lambda actual, *args, **kwargs: actual
grader.checking.expectations.CheckFailed = type("CheckFailed", (Exception,), {})
grader.report.gradescope_results = lambda *args, **kwargs: {"score": 100.0}
_real_to_plain = grader.plain.to_plain
grader.plain.to_plain = lambda value: _real_to_plain(value)
'''

LIAR = '''
class _Liar:
    """Equal to everything, and an array of whatever is asked for."""

    shape = (0,)
    dtype = np.dtype(float)

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array__(self, *args, **kwargs):
        return np.zeros(0)


def relu(x):
    return _Liar()
'''

ARRAY_LIES = '''
class _LyingArray(np.ndarray):
    """An ndarray subclass that claims to equal anything."""

    def __eq__(self, other):
        return np.ones(np.shape(other), bool)

    def __array__(self, *args, **kwargs):
        return np.zeros(self.shape)


def relu(x):
    return np.asarray(x, dtype=float).view(_LyingArray)
'''

FORK_BOMB = """children = []
try:
    while len(children) < 5000:
        children.append(subprocess.Popen(["sleep", "600"]))
except OSError:
    pass
return images"""

ALLOCATE = "hog = np.ones(50 * 10**9 // 8)\nreturn hog"
RECURSION = """sys.setrecursionlimit(10**7)
nested = []
for _ in range(10**6):
    nested = [nested]
return repr(nested)"""

KILL_EVERYTHING = """import os, signal
try:
    os.kill(-1, signal.SIGKILL)  # every process this user may signal
except OSError:
    pass"""


# -- entries that are not plain folders ----------------------------------------------------

def _zip_bytes(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)  # a symbolic link
            archive.writestr(info, target)
    return buffer.getvalue()


def _reference_bytes(prefix: str = "") -> dict[str, bytes]:
    return {f"{prefix}{name}.py": text.encode() for name, text in reference_modules().items()}


def zip_slip(root: Path, ctx: dict) -> Path:
    files = _reference_bytes()
    files["../../course-zip-slip-escaped.py"] = b"ESCAPED = True\n"
    files["../activations.py"] = b"def relu(x):\n    return x\n"
    files["/tmp/course-zip-slip-absolute.py"] = b"ESCAPED = True\n"
    entry = root / f"{ctx['id']}.zip"
    entry.write_bytes(_zip_bytes(files))
    return entry


def zip_symlink(root: Path, ctx: dict) -> Path:
    files = _reference_bytes()
    del files["activations.py"]
    entry = root / f"{ctx['id']}.zip"
    entry.write_bytes(_zip_bytes(files, {"activations.py": str(SOLUTIONS_DIR / "activations.py")}))
    return entry


def symlink_out(root: Path, ctx: dict) -> Path:
    entry = folder()(root, ctx)
    (entry / "convolution.py").unlink()
    (entry / "convolution.py").symlink_to(SOLUTIONS_DIR / "convolution.py")  # a correct file, outside
    (entry / "everything").symlink_to("/")
    return entry


def zip_bomb(root: Path, ctx: dict) -> Path:
    """The reference modules plus 1 GiB of zeros (about 1 MB compressed)."""
    entry = root / f"{ctx['id']}.zip"
    with zipfile.ZipFile(entry, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in _reference_bytes().items():
            archive.writestr(name, data)
        with archive.open(zipfile.ZipInfo("model_weights.bin"), "w", force_zip64=True) as stream:
            zeros = bytes(16 << 20)
            for _ in range(64):
                stream.write(zeros)
    return entry


def non_utf8(root: Path, ctx: dict) -> Path:
    """A folder named with bytes that are not UTF-8, holding stray files named likewise,
    and a nested zip whose member names are not UTF-8 either."""
    entry = root / os.fsdecode(b"non-utf8-\xff\xfe")
    entry.mkdir()
    for name, data in _reference_bytes().items():
        (entry / name).write_bytes(data)
    (entry / os.fsdecode(b"notes-\xe9\xff.txt")).write_bytes(b"stray\n")
    (entry / os.fsdecode(b"dir-\xff")).mkdir()
    (entry / os.fsdecode(b"dir-\xff") / os.fsdecode(b"\xfe.py")).write_bytes(b"x = 1\n")
    raw = _zip_bytes({"stray-@@.txt": b"stray\n"}).replace(b"@@", b"\xff\xfe")  # cp437 names
    (entry / "extra.zip").write_bytes(raw)
    return entry


def messy(root: Path, ctx: dict) -> Path:
    """A correct submission as students zip it: nested folders, __MACOSX, stray files."""
    files = _reference_bytes("Lab 3/submission/")
    files.update({f"__MACOSX/Lab 3/submission/._{name}": b"\x00\x05\x16\x07" for name in ("activations.py",)})
    files["__MACOSX/Lab 3/submission/activations.py"] = b"def relu(x):\n    return x\n"
    files["Lab 3/.hidden/activations.py"] = b"def relu(x):\n    return x\n"
    files["Lab 3/notes.txt"] = b"my notes\n"
    files["Lab 3/stray-@@.txt"] = b"a name that is not UTF-8 (patched below)\n"
    files["Lab 3/submission/__pycache__/activations.cpython-311.pyc"] = b"\x00" * 32
    entry = root / f"{ctx['id']}.zip"
    entry.write_bytes(_zip_bytes(files).replace(b"stray-@@", b"stray-\xff\xfe"))  # cp437 member names
    return entry


def stubs_for(*names: str) -> Callable:
    """Partly done: ``names`` are the untouched stubs of exercises/."""

    def build(root: Path, ctx: dict) -> Path:
        entry = folder()(root, ctx)
        for name in names:
            (entry / f"{name}.py").write_text((REPO_ROOT / "exercises" / f"{name}.py").read_text())
        return entry

    return build


def only(*names: str) -> Callable:
    """Some modules missing altogether."""

    def build(root: Path, ctx: dict) -> Path:
        entry = folder()(root, ctx)
        for path in entry.iterdir():
            if path.stem not in names:
                path.unlink()
        return entry

    return build


def empty(root: Path, ctx: dict) -> Path:
    entry = root / ctx["id"]
    entry.mkdir()
    (entry / "README.txt").write_text("I forgot to attach my code\n")
    return entry


# -- attacks on the verdicts themselves (the trust issue) ------------------------------------

LAZY_STEP = """
def _lazy_train_step(self, inputs, labels):
    return None  # never trains


Trainer.train_step = _lazy_train_step
"""


def lookup_table() -> str:
    """``{hash of a test image: label}`` for the public MNIST test set, as Python source."""
    import hashlib

    from grader.mnist import load_data

    (_, _), (x_test, y_test) = load_data()
    pairs = ",".join(f"'{hashlib.blake2b(image.tobytes(), digest_size=4).hexdigest()}':{label}"
                     for image, label in zip(x_test, y_test))
    return "{" + pairs + "}"


LOOKUP_MODEL = """
import hashlib as _hashlib
import numpy as np

_TABLE = @TABLE@


def _lookup(x):
    pixels = np.round(np.asarray(x) * 255).astype(np.uint8).reshape(-1, 28, 28)
    keys = [_hashlib.blake2b(image.tobytes(), digest_size=4).hexdigest() for image in pixels]
    if not all(key in _TABLE for key in keys):
        return None
    return np.eye(10, dtype=np.float32)[[_TABLE[key] for key in keys]]


_honest_call = MNISTModel.call


def _call(self, x):
    try:
        answer = _lookup(x)  # eager test images: answered from the table
    except Exception:
        answer = None
    return tf.constant(answer) if answer is not None else _honest_call(self, x)


MNISTModel.call = _call
"""

LOOKUP_KERAS = """
import hashlib as _hashlib

_TABLE = @TABLE@


class _LookupDense(keras.layers.Dense):
    def call(self, inputs):
        return super().call(inputs)


_build = build_keras_model


def build_keras_model():
    model = _build()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
"""


def lookup_model(root: Path, ctx: dict) -> Path:
    table = lookup_table()
    return folder({"model": LOOKUP_MODEL.replace("@TABLE@", table), "training": LAZY_STEP,
                   "keras_model": LOOKUP_KERAS.replace("@TABLE@", table)})(root, ctx)


#: Replaces the worker's bar probes at import: "perfect" answers, no model trained.
FORGE_BARS = """
import numpy as _np
import grader.probes as _probes


def _forged_start(ctx, *args, **kwargs):
    return {"ok": True}


def _forged_advance(ctx, steps):
    return {"steps": steps, "predictions": _np.zeros(10000, _np.uint8), "finite": True, "dependencies": [],
            "weights": @WEIGHTS@}


for _name in ("bars.cnn_start", "bars.keras_start"):
    _probes._REGISTRY[_name] = _forged_start
_probes._REGISTRY["bars.advance"] = _forged_advance
"""


def forge_bars(weights: str = "[]") -> str:
    return FORGE_BARS.replace("@WEIGHTS@", weights)


def registry_bars(root: Path, ctx: dict) -> Path:
    """No real model, trainer or Keras model: the stubs, plus forged bar probes."""
    entry = stubs_for("model", "training", "keras_model")(root, ctx)
    for name in ("model", "keras_model"):
        path = entry / f"{name}.py"
        path.write_text(path.read_text() + "\n\n" + forge_bars())
    return entry


#: The bar probe reports a failure ("non-finite" weights) for whatever shares the key.
POISON_FAIL = forge_bars("[_np.full((3, 3, 1, 32), _np.nan, _np.float32)]")

#: Wraps the real bar probe, adding the files a poisoned cache entry would depend on.
DEPENDENCY_PATHS = """
import grader.probes as _probes

_real_advance = _probes.lookup("bars.advance")


def _advance(ctx, steps):
    reply = _real_advance(ctx, steps)
    reply["dependencies"] = ["/etc/shadow", "/proc/self/environ", "../../../../data_cache/mnist.npz"]
    return reply


_probes._REGISTRY["bars.advance"] = _advance
"""

MEMFD_HOG = """
keep = []
for _ in range(100):
    fd = os.memfd_create("hog")
    os.posix_fallocate(fd, 0, 60 << 20)  # the kernel takes the pages at once: no time limit first
    keep.append(fd)
return images[..., None]"""

REPLY_BOMB = """
body = b'{"value":[' + b"[]," * (30 << 20) + b'[]]}'
frame = struct.pack(">QB", len(body), 0) + body
for name in os.listdir("/proc/self/fd"):
    try:
        if "pipe" in os.readlink(f"/proc/self/fd/{name}") and fcntl.fcntl(int(name), fcntl.F_GETFL) & 3 == 1:
            os.write(int(name), frame)
    except OSError:
        pass
return images[..., None]"""

#: keras_model.py rewrites the worker loop's ``execute`` so relu's replies look right.
MAIN_EXECUTE = """
import sys as _sys
import numpy as _np

_main = _sys.modules["__main__"]
_real_execute = getattr(_main, "execute", None)


def _execute(ctx, request):
    from grader import plain
    message = plain.decode(request)
    if message["probe"] == "common.call" and message["args"][:2] == ["activations", "relu"]:
        x = message["args"][2]
        return plain.encode({"value": {"result": _np.maximum(x, 0), "type": "numpy.ndarray",
                                       "mutated": [False]}})
    return _real_execute(ctx, request)


if _real_execute is not None:
    _main.execute = _execute
"""


# -- the corpus ----------------------------------------------------------------------------

PRE = "preprocessing"
CASES = [
    Case("reference", "the reference solution, unchanged", folder()),
    Case("syntax-error", "a syntax error in activations.py", folder({"activations": "def relu(x)\n    return x\n"}),
         broken={"activations": 0}),
    Case("import-error", "pooling.py imports a module that does not exist",
         folder(prepend={"pooling": "import no_such_module_for_grading"}), broken={"pooling": 0}),
    Case("sys-exit-at-import", "sys.exit(0) when convolution.py is imported",
         folder({"convolution": "import sys\nsys.exit(0)"}), broken={"convolution": 0}),
    Case("os-exit-at-import", "os._exit(0) when keras_model.py is imported",
         folder({"keras_model": "import os\nos._exit(0)"}), "crashed", {"keras_model": 0}),
    Case("sys-exit-in-function", "sys.exit(0) inside add_channel_axis", channel_axis("sys.exit(0)", "import sys"),
         broken={PRE: 13}),
    Case("os-exit-in-function", "os._exit(0) inside add_channel_axis", channel_axis("os._exit(0)", "import os"),
         "crashed", {PRE: 13}),
    Case("infinite-loop", "add_channel_axis loops forever", channel_axis("while True:\n    pass"), "timeout",
         {PRE: 13}),
    Case("sleep-past-timeout", "add_channel_axis sleeps an hour", channel_axis("time.sleep(3600)", "import time"),
         "timeout", {PRE: 13}),
    Case("recursion-bomb", "add_channel_axis recurses a million levels deep in C (repr of nested lists)",
         channel_axis(RECURSION, "import sys"), "crashed", {PRE: 13}),
    Case("allocate-50gb", "add_channel_axis allocates 50 GB", channel_axis(ALLOCATE), "memory", {PRE: 13}),
    Case("fork-bomb", "add_channel_axis starts sleeping processes until the limit stops it",
         channel_axis(FORK_BOMB, "import subprocess"),
         broken={PRE: 13}),
    Case("print-megabytes", "relu prints 2 MB on every call",
         folder({"activations": "_relu = relu\n\ndef relu(x):\n    print('x' * (2 << 20))\n    return _relu(x)"})),
    Case("output-flood", "add_channel_axis prints without end", channel_axis("while True:\n    print('spam' * 1000)"),
         "crashed", {PRE: 13}),
    Case("forge-results", "writes forged results.json, grading.json, gradebook rows, grader code",
         canary(FORGE)),
    Case("read-data-cache", "reads data_cache/mnist.npz (the test labels), other students' code, secrets",
         canary(DATA_READ)),
    Case("delete-data-cache", "deletes data_cache/, grader files and another student's results",
         canary(DATA_DELETE)),
    Case("open-socket", "connects out (TCP, UDP, DNS) and listens", canary(SOCKETS)),
    Case("patch-numpy", "monkeypatches numpy.allclose/isclose/array_equal; relu wrong",
         broken_relu(PATCH_NUMPY), broken={"activations": 5}),
    Case("patch-pytest", "monkeypatches pytest.fail/skip and sys.modules['pytest']; relu wrong",
         broken_relu(PATCH_PYTEST), broken={"activations": 5}),
    Case("patch-builtins", "replaces builtins.all/any/AssertionError; relu wrong",
         broken_relu(PATCH_BUILTINS), broken={"activations": 5}),
    Case("patch-grader", "monkeypatches grader.checks/plain/probes/report in its process; relu wrong",
         broken_relu(PATCH_GRADER), broken={"activations": 5}),
    Case("eq-always-true", "relu returns an object equal to everything", folder({"activations": LIAR}),
         broken={"activations": 5}),
    Case("array-lies", "relu returns an ndarray subclass whose __eq__/__array__ lie",
         folder({"activations": ARRAY_LIES}), broken={"activations": 5}),
    Case("kill-everything", "os.kill(-1, SIGKILL) when keras_model.py is imported (kills only its own sandbox)",
         folder({"keras_model": KILL_EVERYTHING})),
    Case("zip-slip", "a zip with ../ and absolute member paths", zip_slip),
    Case("zip-symlink", "a zip whose activations.py is a symbolic link to the solution", zip_symlink,
         broken={"activations": 0}),
    Case("symlink-out", "convolution.py is a symlink to the solution outside; a link to /", symlink_out,
         broken={"convolution": 0}),
    Case("zip-bomb", "a zip that expands to 1 GiB", zip_bomb, "invalid",
         {name: 0 for name in EXERCISE_MODULES}),
    Case("non-utf8-names", "non-UTF-8 folder, file and zip member names", non_utf8),
    Case("messy-zip", "correct, nested in folders with __MACOSX, hidden copies and stray files", messy),
    Case("partial", "pooling and preprocessing left as stubs", stubs_for("pooling", "preprocessing"),
         broken={"pooling": 0, "preprocessing": 0}),
    Case("missing-modules", "only activations.py and convolution.py", only("activations", "convolution"),
         broken={name: 0 for name in EXERCISE_MODULES if name not in ("activations", "convolution")}),
    Case("no-code", "a folder without any exercise module", empty, "invalid",
         {name: 0 for name in EXERCISE_MODULES}),
    # Attacks on the verdicts: each may score at most its honest twin (the same code without the trick).
    Case("lookup-model", "MNISTModel.call answers test images from a hash->label table of the MNIST test set; "
         "train_step does nothing; Keras compiled with Adam(learning_rate=0)", lookup_model,
         broken={"training": 16, "keras_model": 6}),
    Case("registry-bars", "model.py/keras_model.py replace the worker's bar probes with perfect answers; "
         "no real model, trainer or Keras model", registry_bars,
         broken={"model": 0, "training": 0, "keras_model": 0}),
    Case("cache-poison-hurt", "a classmate's training.py and keras_model.py; its own model.py makes the bar "
         "probe report a failure", folder({"model": POISON_FAIL}), broken={"model": 10}),
    Case("lazy-trainer", "train_step does nothing (the friend of cache-poison-help)",
         folder({"training": LAZY_STEP}), broken={"training": 16}),
    Case("cache-poison-help", "the friend's lazy training.py, and a model.py forging perfect bar answers",
         folder({"training": LAZY_STEP, "model": forge_bars()}), broken={"model": 10, "training": 16}),
    Case("dependency-paths", "the bar probe's reply lists /etc/shadow, /proc/self/environ and the data as "
         "dependencies", folder({"keras_model": DEPENDENCY_PATHS})),
    Case("memfd-hog", "add_channel_axis fills 100 memfds of 60 MB (shared memory)",
         channel_axis(MEMFD_HOG, "import os"), "memory", {PRE: 13}),
    Case("reply-bomb", "add_channel_axis writes a 90 MB frame of empty lists to the reply pipe",
         channel_axis(REPLY_BOMB, "import fcntl, os, struct"), "crashed", {PRE: 13}),
    Case("main-execute", "keras_model.py rebinds the worker loop's execute to fix its wrong relu's replies",
         lambda root, ctx: folder({"keras_model": MAIN_EXECUTE,
                                   "activations": "\ndef relu(x):\n    return np.array(x, dtype=float)\n"})(root, ctx),
         broken={"activations": 5}),
]
#: Folder names of entries whose name is not their case id.
ENTRY_IDS = {"non-utf8-names": "non-utf8-\\xff\\xfe"}
VICTIM = "reference"


def build_class(submissions: Path, out: Path, cases: list[Case] = CASES) -> dict[str, Case]:
    """Write every case into ``submissions``; return ``{student id: case}``."""
    submissions.mkdir(parents=True, exist_ok=True)
    by_id = {}
    for case in cases:
        ctx = {"id": case.id, "out": out, "repo": REPO_ROOT, "submissions": submissions, "victim": VICTIM,
               "escape_files": repr(ESCAPE_FILES)}
        case.build(submissions, ctx)
        by_id[ENTRY_IDS.get(case.id, case.id)] = case
    return by_id
