"""The static screen (``grader.bulk.screen``): every reason caught, no honest file flagged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.bulk.screen import (
    MAX_PLAUSIBLE_BYTES,
    PROBE_IDS,
    Flag,
    flags_text,
    screen,
    screen_source,
)
from grader.bulk.submissions import InvalidSubmission, discover, stage
from grader.notebook.extract import extract_modules
from grader.paths import EXERCISE_MODULES, EXERCISES_DIR, REPO_ROOT, SOLUTIONS_DIR
from tests.attacks.corpus import CASES, build_class
from tests.corpus.build import materialize
from tests.corpus.correct_variants import VARIANTS
from tests.corpus.mistakes import MISTAKES

#: The attack cases whose code reaches for the grader, and what the screen must say; every
#: other case of the corpus (a case added later too) must not be flagged.
FLAGGED_CASES = {
    "patch-grader": "imports the grader (grader.checking.expectations)",
    "patch-pytest": "reads or writes sys.modules",
    "read-data-cache": "runs dynamic code (__import__)",
    "registry-bars": "names the grader's probe registry (_REGISTRY)",
    "cache-poison-hurt": "names the grader's probe 'bars.advance'",
    "cache-poison-help": "imports the grader (grader.probes)",
    "dependency-paths": "names the grader's probe registry (_REGISTRY)",
    "main-execute": "reads or writes sys.modules",
}


def reasons(source: str) -> list[str]:
    return [flag.reason for flag in screen_source(source, "model.py")]


# -- each reason: a small positive and the honest code next to it ---------------------------

POSITIVE = [
    # the grader and the worker's __main__
    ("import grader.checking.expectations", "imports the grader (grader.checking.expectations)"),
    ("from grader import plain", "imports the grader (grader)"),
    ("from grader.probes import common", "imports the grader (grader.probes)"),
    ("import importlib\nimportlib.import_module('grader.report')", "imports the grader (grader.report)"),
    ("import __main__", "imports the worker's __main__ module"),
    ("from __main__ import _CONFIG", "imports the worker's __main__ module"),
    # the grader's internals by name
    ("table = probes._REGISTRY", "names the grader's probe registry (_REGISTRY)"),
    ("table = getattr(probes, '_REGISTRY')", "names the grader's probe registry (_REGISTRY)"),
    ("print(_REGISTRY)", "names the grader's probe registry (_REGISTRY)"),
    ("request = {'probe': 'common.call'}", "names the grader's probe 'common.call'"),
    ("run(f'training.fit')", "names the grader's probe 'training.fit'"),
    # sys.modules and the import machinery
    ("import sys\nsys.modules['numpy'].allclose = None", "reads or writes sys.modules"),
    ("import sys\nworker = sys.modules['__main__']", "reads or writes sys.modules"),
    ("from sys import modules", "reads or writes sys.modules"),
    ("import sys as s\ns.modules.pop('x')", "reads or writes sys.modules"),
    ("import os\nos.sys.modules.clear()", "reads or writes sys.modules"),
    ("import sys\ngetattr(sys, 'modules')", "reads or writes sys.modules"),
    ("import sys\nsys.meta_path.insert(0, Finder())", "changes the import machinery (sys.meta_path)"),
    ("from sys import *", "imports everything from sys"),
    # dynamic code
    ("exec('x = 1')", "runs dynamic code (exec)"),
    ("value = eval('1 + 1')", "runs dynamic code (eval)"),
    ("code = compile('1', 'f', 'eval')", "runs dynamic code (compile)"),
    ("os = __import__('os')", "runs dynamic code (__import__)"),
    ("run = eval", "runs dynamic code (eval)"),
    ("def hide(exec):\n    return exec\n\n\nexec('x = 1')", "runs dynamic code (exec)"),  # shadowed elsewhere only
    ("def build(compile=True):\n    pass\n\n\ndef run():\n    return eval('1')", "runs dynamic code (eval)"),
    ("import builtins\nbuiltins.exec('x = 1')", "runs dynamic code (exec)"),
    ("from builtins import eval as e", "runs dynamic code (eval)"),
    ("import importlib\nimportlib.__import__('os')", "runs dynamic code (importlib.__import__)"),
    ("import importlib\nmodule = importlib.import_module(name)",
     "runs dynamic code (importlib.import_module of a computed name)"),
    ("from importlib import import_module\nimport_module('gra' + 'der')",
     "runs dynamic code (importlib.import_module of a computed name)"),
    ("import importlib\nload = importlib.import_module", "runs dynamic code (importlib.import_module used indirectly)"),
    ("import importlib.util\nimportlib.util.spec_from_file_location('m', 'p.py')",
     "runs dynamic code (importlib.util.spec_from_file_location)"),
    ("import runpy\nrunpy.run_path('x.py')", "runs dynamic code (runpy.run_path)"),
    ("import types\ntypes.CodeType(0, 0)", "runs dynamic code (types.CodeType)"),
    ("import marshal\nmarshal.loads(data)", "runs dynamic code (marshal.loads)"),
    # frames
    ("import sys\ncaller = sys._getframe(1)", "reaches into stack frames (sys._getframe)"),
    ("import inspect\nframe = inspect.currentframe()", "reaches into stack frames (inspect.currentframe)"),
    ("import inspect\nframes = inspect.stack()", "reaches into stack frames (inspect.stack)"),
    ("from inspect import getouterframes", "reaches into stack frames (inspect.getouterframes)"),
    ("import sys\nsys.settrace(tracer)", "reaches into stack frames (sys.settrace)"),
    ("caller = frame.f_back", "reaches into stack frames (.f_back)"),
    ("names = frame.f_globals", "reaches into stack frames (.f_globals)"),
    ("names = frame.f_locals", "reaches into stack frames (.f_locals)"),
    ("frame = error.__traceback__.tb_frame", "reaches into stack frames (.tb_frame)"),
    ("frame = generator.gi_frame", "reaches into stack frames (.gi_frame)"),
    ("frame = getattr(tb, 'tb_frame')", "reaches into stack frames (.tb_frame)"),
    # a function's and the interpreter's insides
    ("names = relu.__globals__", "reaches into a function's internals (.__globals__)"),
    ("code = relu.__code__", "reaches into a function's internals (.__code__)"),
    ("cells = relu.__closure__", "reaches into a function's internals (.__closure__)"),
    ("names = getattr(relu, '__globals__')", "reaches into a function's internals (.__globals__)"),
    ("opener = __builtins__['open']", "reaches into __builtins__"),
    ("opener = module.__builtins__", "reaches into __builtins__"),
    ("every = object.__subclasses__()", "lists the interpreter's classes (.__subclasses__)"),
    # the garbage collector, raw memory
    ("import gc\nobjects = gc.get_objects()", "reaches into the garbage collector (gc.get_objects)"),
    ("import gc\nowners = gc.get_referrers(x)", "reaches into the garbage collector (gc.get_referrers)"),
    ("from gc import get_referents", "reaches into the garbage collector (gc.get_referents)"),
    ("import gc\nleft = gc.garbage", "reaches into the garbage collector (gc.garbage)"),
    ("import ctypes", "uses ctypes (raw memory access)"),
    ("from ctypes import pythonapi", "uses ctypes (raw memory access)"),
    ("import cffi", "uses cffi (raw memory access)"),
    # sensitive modules used as values
    ("import sys\nthing = getattr(sys, name)",
     "uses the sys module as a value (getattr, vars...): what it reaches is hidden"),
    ("import builtins\nnames = vars(builtins)",
     "uses the builtins module as a value (getattr, vars...): what it reaches is hidden"),
    ("import sys\nnames = sys.__dict__", "reads the namespace of sys (sys.__dict__)"),
    ("import gc as collector\nm = collector",
     "uses the gc module as a value (getattr, vars...): what it reaches is hidden"),
]

HONEST = [
    "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')",
    "import re\npattern = re.compile('[0-9]+')",
    "from re import compile\npattern = compile('[0-9]+')",
    "def eval(x):\n    return x\n\n\nvalue = eval(1)",
    "def f(compile):\n    return compile",
    "def build_model(compile=True):\n    model = make()\n    if compile:\n        model.compile('adam')\n"
    "    return [compile for _ in range(2)], (lambda: compile)()",
    "history = model.evaluate(x, y)\nmodel.eval()\nself.exec()",
    "if __name__ == '__main__':\n    main()",
    "import sys\nprint(sys.argv, file=sys.stderr)\nsys.exit(0)",
    "import sys\nsys.path.insert(0, '.')\nsys.setrecursionlimit(10000)\nsys.stdout.flush()",
    "import sys\ninteractive = hasattr(sys, 'ps1')",
    "import gc\ngc.collect()",
    "import importlib\nnp = importlib.import_module('numpy')\nimportlib.reload(np)",
    "import inspect\nparameters = inspect.signature(relu).parameters",
    "import traceback\ntraceback.print_exc()",
    "import tensorflow as tf\nstep = tf.function(train_step, jit_compile=True)",
    "name = relu.__name__\ndoc = relu.__doc__\nclasses = type(x).__mro__",
    "label = 'common'\ntext = 'f_back is the calling frame'\nwhere = 'training.fit()'",
    "import numpy as np\nmodules = ['activations', 'model']\nx = np.modules if False else None",
    "def relu(x)\n    return x",  # does not parse: the grader reports it
    "",
]


@pytest.mark.parametrize("source, reason", POSITIVE, ids=[source.splitlines()[-1][:40] for source, _ in POSITIVE])
def test_each_reason_is_flagged(source, reason):
    assert reason in reasons(source), reasons(source)


@pytest.mark.parametrize("source", HONEST,
                         ids=[source.splitlines()[0][:40] if source else "empty" for source in HONEST])
def test_honest_code_next_to_each_reason_is_not_flagged(source):
    assert reasons(source) == []


def test_flags_name_the_file_and_the_line():
    source = "import numpy as np\n\n\ndef relu(x):\n    import grader.checking.expectations\n    return np.maximum(x, 0)\n"
    assert screen_source(source, "activations.py") == [
        Flag("activations.py", 5, "imports the grader (grader.checking.expectations)")]
    assert flags_text(screen_source(source, "activations.py")) == "activations.py:5 imports the grader (grader.checking.expectations)"
    repeated = "import sys\n" + "sys.modules.clear()\n" * 50
    assert screen_source(repeated, "model.py") == [Flag("model.py", 2, "reads or writes sys.modules")]


def test_an_oversized_module_is_flagged_with_its_size():
    padding = "# " + "x" * 98 + "\n"
    small = padding * (MAX_PLAUSIBLE_BYTES // len(padding))
    assert screen_source(small, "model.py") == []
    (flag,) = screen_source(small + padding * 200, "model.py")
    assert flag.line == 0 and flag.reason.startswith("is 276 KB: larger than any plausible exercise")
    assert flag.text().startswith("model.py is 276 KB")


def test_deep_or_odd_sources_never_crash_the_screen():
    deep = "x = " + "+".join(["1"] * 900) + "\nimport ctypes\n"  # parses: a deep tree, walked without recursion
    assert reasons(deep) == ["uses ctypes (raw memory access)"]
    chain = "import sys\ny = sys" + ".modules" * 400 + "\n"
    assert reasons(chain) == ["reads or writes sys.modules"]
    too_deep = "x = " + "+".join(["1"] * 100_000) + "\nexec('hidden')\n"  # too deep for the parser here
    assert reasons(too_deep) == ["is nested too deeply to be screened"]
    for source in ("z = " + "(" * 5000 + ")" * 5000, "\0\0\0", b"\xff\xfe\x00garbage",
                   b"# coding: latin-1\n\xe9 = 1\n", "# coding: nonsense\n"):
        assert reasons(source) == [], source[:20]


def test_probe_ids_are_read_from_the_probe_files():
    """The ids parsed from grader/probes/*.py are the registry's (probes imported in a child)."""
    code = ("import importlib, json, grader.probes as p\n"
            "for f in p.PROBE_FILES: importlib.import_module('grader.probes.' + f)\n"
            "print(json.dumps(sorted(p._REGISTRY)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(PROBE_IDS) == json.loads(done.stdout.splitlines()[-1])
    assert "common.call" in PROBE_IDS


def test_only_the_seven_staged_modules_are_read(tmp_path):
    (tmp_path / "helper.py").write_text("exec('x = 1')\n")
    (tmp_path / "activations.py").write_text("import ctypes\n")
    (tmp_path / "convolution.py").symlink_to(tmp_path / "helper.py")
    assert screen(tmp_path) == [Flag("activations.py", 1, "uses ctypes (raw memory access)")]


# -- no honest submission in the corpora is flagged -------------------------------------------

def _flags(folder: Path) -> list[str]:
    return [flag.text() for flag in screen(folder)]


def test_the_solutions_and_the_exercises_are_not_flagged():
    assert _flags(SOLUTIONS_DIR) == [] and _flags(EXERCISES_DIR) == []
    assert all((SOLUTIONS_DIR / f"{name}.py").is_file() for name in EXERCISE_MODULES)


def test_no_correct_variant_or_mistake_is_flagged(tmp_path):
    flagged = {entry.id: _flags(materialize(entry, tmp_path / entry.id)) for entry in (*VARIANTS, *MISTAKES)}
    assert len(flagged) == len(VARIANTS) + len(MISTAKES) > 50
    assert {ident: flags for ident, flags in flagged.items() if flags} == {}


@pytest.mark.parametrize("notebook", ["student", "instructor"])
def test_the_extracted_course_notebooks_are_not_flagged(tmp_path, notebook):
    path = REPO_ROOT / "notebooks" / notebook / "mnist_course.ipynb"
    if not path.is_file():
        pytest.skip("no course notebook in this checkout")
    assert set(extract_modules(path, tmp_path)) == set(EXERCISE_MODULES)
    assert _flags(tmp_path) == []


def test_only_the_attacks_that_reach_for_the_grader_are_flagged(tmp_path):
    """Every honest case of the attack corpus staged as the grader stages it: no flag; the
    ones that import the grader, name its probes, touch sys.modules or import dynamically:
    flagged."""
    cases = [case for case in CASES if case.id != "zip-bomb"]  # invalid: never screened
    build_class(tmp_path / "submissions", tmp_path / "results", cases)
    flagged = {}
    for entry in discover(tmp_path / "submissions"):
        try:
            stage(entry, tmp_path / "staged" / entry.id)
        except InvalidSubmission:
            continue
        flagged[entry.id] = [flag.reason for flag in screen(tmp_path / "staged" / entry.id)]
    assert len(flagged) == len(cases) - 1  # no-code is invalid
    assert {ident for ident, found in flagged.items() if found} == set(FLAGGED_CASES)
    for ident, reason in FLAGGED_CASES.items():
        assert reason in flagged[ident], flagged[ident]
