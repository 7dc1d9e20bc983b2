"""A static screen of a staged submission: code that reaches for the grader is flagged.

Before a student is graded, ``screen(folder)`` reads the seven exercise modules of the
staged copy as text (never importing them) and parses them with ``ast``. A module is
flagged, with its file, line and reason, when it

- imports the grader (``import grader``, ``from grader.probes import ...``) or the
  worker's ``__main__`` module;
- names the grader's internals: ``_REGISTRY``, or a string equal to a probe id
  (``"common.call"``, read from the ``@probe`` functions of ``grader/probes/*.py``);
- reads or writes ``sys.modules`` (or ``sys.meta_path``/``sys.path_hooks``);
- runs dynamic code: the builtins ``exec``, ``eval``, ``compile``, ``__import__``
  (bare or through ``builtins``), ``importlib.import_module`` of a computed name,
  ``importlib.__import__``, loaders of source files, ``runpy``, ``types.CodeType``,
  ``marshal.loads``;
- reaches into stack frames (``sys._getframe``, ``inspect.currentframe``/``stack``/...,
  ``sys.settrace``, ``.f_back``, ``.f_globals``, ``.tb_frame``...), into functions and
  the interpreter (``.__globals__``, ``.__code__``, ``.__closure__``, ``__builtins__``,
  ``.__subclasses__``), into the garbage collector (``gc.get_objects``,
  ``gc.get_referrers``...; ``gc.collect()`` is fine) or uses ``ctypes``/``cffi``;
- uses one of ``sys``, ``builtins``, ``importlib``, ``inspect``, ``gc`` as a value
  (``getattr(sys, name)``, ``vars(sys)``), where the screen cannot see what it reaches;
- or is larger than any plausible exercise (``MAX_PLAUSIBLE_BYTES``).

A flag is a mark for the instructor, not a penalty: the student is graded as usual.
Names are resolved through the module's imports, so ``model.compile(...)``,
``re.compile`` and ``from re import compile`` are not the builtin, and
``if __name__ == "__main__":`` is honest. A module that does not parse is not flagged
(the grader reports its syntax error); one nested too deeply for the parser is flagged
(it would compile where student code had raised the recursion limit). The walk is
iterative, so no nesting depth can crash the screen.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from pathlib import Path

from grader.paths import EXERCISE_MODULES, REPO_ROOT

#: A module file above this is flagged (a real exercise is under 20 KB).
MAX_PLAUSIBLE_BYTES = 256 << 10
#: At most this many flags are kept per file (one per distinct reason, first line each).
MAX_FLAGS_PER_FILE = 20
PROBES_DIR = REPO_ROOT / "grader" / "probes"


@dataclass(frozen=True)
class Flag:
    """Something in ``file`` at ``line`` (0: the whole file) that a person should look at."""

    file: str
    line: int
    reason: str

    def text(self) -> str:
        """``model.py:12 imports the grader (grader.checking.expectations)``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where} {self.reason}"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict) -> "Flag":
        return cls(str(data.get("file", "")), int(data.get("line") or 0), str(data.get("reason", "")))


def probe_ids(folder: Path = PROBES_DIR) -> frozenset[str]:
    """The ids (``"<file>.<function>"``) of the ``@probe`` functions in ``folder``, read
    from the source (importing the probes would import TensorFlow)."""
    ids = set()
    for path in sorted(Path(folder).glob("*.py")):
        if path.name == "__init__.py":
            continue
        try:
            tree = ast.parse(path.read_bytes())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    _decorator_name(decorator) == "probe" for decorator in node.decorator_list):
                ids.add(f"{path.stem}.{node.name}")
    return frozenset(ids)


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


PROBE_IDS = probe_ids()

# -- what is looked for ----------------------------------------------------------------------

#: Qualified names (after resolving imports) that run code the screen cannot read.
DYNAMIC_CODE = {
    "builtins.exec", "builtins.eval", "builtins.compile", "builtins.__import__", "importlib.__import__",
    "importlib.util.spec_from_file_location", "importlib.util.spec_from_loader", "importlib.util.module_from_spec",
    "importlib.machinery.SourceFileLoader", "importlib.machinery.SourcelessFileLoader",
    "importlib.machinery.ExtensionFileLoader", "runpy.run_path", "runpy.run_module", "types.CodeType",
    "marshal.loads", "marshal.load",
}
#: Qualified names that hand out stack frames (or trace every frame).
FRAME_FUNCTIONS = {
    "sys._getframe", "sys._current_frames", "sys._current_exceptions", "sys.settrace", "sys.setprofile",
    "inspect.currentframe", "inspect.stack", "inspect.trace", "inspect.getouterframes", "inspect.getinnerframes",
    "inspect.getframeinfo", "traceback.walk_stack", "traceback.walk_tb", "threading.settrace",
    "threading.setprofile", "threading.settrace_all_threads", "threading.setprofile_all_threads",
}
IMPORT_MACHINERY = {"sys.meta_path", "sys.path_hooks", "sys.path_importer_cache"}
#: ``gc`` functions that only run or tune the collector: everything else reaches objects.
GC_HARMLESS = {"collect", "enable", "disable", "isenabled", "get_count", "get_threshold", "set_threshold",
               "get_stats", "freeze", "unfreeze", "get_freeze_count", "is_tracked", "is_finalized",
               "get_debug", "set_debug"}
RAW_MEMORY_MODULES = {"ctypes", "_ctypes", "cffi", "_cffi_backend"}
#: Modules whose use as a value (``getattr(sys, name)``) hides what is reached.
SENSITIVE_MODULES = {"sys", "builtins", "importlib", "inspect", "gc"}
#: Attributes, on anything, that lead to frames or to a function's or the interpreter's insides.
FRAME_ATTRIBUTES = {"f_back", "f_globals", "f_locals", "f_builtins", "f_code", "tb_frame", "gi_frame",
                    "cr_frame", "ag_frame"}
INTERNAL_ATTRIBUTES = {"__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__"}
REGISTRY = "_REGISTRY"
_GETATTR_FAMILY = {"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.hasattr"}
_BUILTIN_NAMES = frozenset(dir(builtins))
#: Nodes that open a scope: a name bound in one is not the builtin there (or inside it).
_SCOPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
           ast.DictComp, ast.GeneratorExp)
#: Modules reachable under another name (``os.sys`` is ``sys``).
_ALIASES = {"os.sys": "sys"}


def _short(qualified: str) -> str:
    return qualified.removeprefix("builtins.")


def import_reason(module: str) -> str | None:
    """Why importing ``module`` (dotted) is flagged, or None."""
    top = module.split(".", 1)[0]
    if top == "grader":
        return f"imports the grader ({module})"
    if top == "__main__":
        return "imports the worker's __main__ module"
    if top in RAW_MEMORY_MODULES:
        return f"uses {top} (raw memory access)"
    return None


def name_reason(qualified: str) -> str | None:
    """Why using the object ``qualified`` (``"sys.modules"``, ``"builtins.exec"``) is flagged."""
    parts = qualified.split(".")
    if qualified == "sys.modules" or qualified.startswith("sys.modules."):
        return "reads or writes sys.modules"
    if qualified in IMPORT_MACHINERY:
        return f"changes the import machinery ({qualified})"
    if qualified in DYNAMIC_CODE:
        return f"runs dynamic code ({_short(qualified)})"
    if qualified in FRAME_FUNCTIONS:
        return f"reaches into stack frames ({qualified})"
    if parts[0] == "gc" and len(parts) > 1 and parts[1] not in GC_HARMLESS:
        return f"reaches into the garbage collector ({'.'.join(parts[:2])})"
    if len(parts) == 2 and parts[0] in SENSITIVE_MODULES and parts[1] == "__dict__":
        return f"reads the namespace of {parts[0]} ({qualified})"
    if parts[-1] == REGISTRY:
        return "names the grader's probe registry (_REGISTRY)"
    return None  # a name from an imported grader module: the import is flagged


def attribute_reason(attr: str) -> str | None:
    """Why the attribute ``attr`` is flagged on any object."""
    if attr in FRAME_ATTRIBUTES:
        return f"reaches into stack frames (.{attr})"
    if attr == "__builtins__":
        return "reaches into __builtins__"
    if attr == "__subclasses__":
        return "lists the interpreter's classes (.__subclasses__)"
    if attr in INTERNAL_ATTRIBUTES:
        return f"reaches into a function's internals (.{attr})"
    if attr == REGISTRY:
        return "names the grader's probe registry (_REGISTRY)"
    return None


def string_reason(text: str) -> str | None:
    """Why a string constant is flagged (a probe id, or an attribute name spelled out)."""
    if text in PROBE_IDS:
        return f"names the grader's probe {text!r}"
    return attribute_reason(text)


# -- the screen ------------------------------------------------------------------------------

def screen(folder: Path) -> list[Flag]:
    """The flags of the exercise modules in ``folder`` (a staged submission)."""
    flags: list[Flag] = []
    for name in EXERCISE_MODULES:
        path = Path(folder) / f"{name}.py"
        if not path.is_file() or path.is_symlink():
            continue
        try:
            flags += screen_source(path.read_bytes(), path.name)
        except Exception as error:  # noqa: BLE001 - the screen must never stop a grading
            flags.append(Flag(path.name, 0, f"could not be screened ({type(error).__name__})"))
    return flags


def screen_source(source: bytes | str, file: str) -> list[Flag]:
    """The flags of one module's ``source``; ``file`` names it in the flags."""
    flags: list[Flag] = []
    size = len(source.encode("utf-8", "surrogateescape") if isinstance(source, str) else source)
    if size > MAX_PLAUSIBLE_BYTES:
        flags.append(Flag(file, 0, f"is {size / 1024:.0f} KB: larger than any plausible exercise "
                                   f"(limit {MAX_PLAUSIBLE_BYTES >> 10} KB; a real one is under 20 KB)"))
    try:
        tree = ast.parse(source, filename=file)
    except (SyntaxError, ValueError):
        return flags  # not importable either: the grader reports it
    except (RecursionError, MemoryError):  # importable where the recursion limit is raised
        return flags + [Flag(file, 0, "is nested too deeply to be screened")]
    found: dict[str, int] = {}
    for line, reason in _Scanner(tree).findings():
        if reason not in found or line < found[reason]:
            found[reason] = line
    ordered = sorted(found.items(), key=lambda item: (item[1], item[0]))
    flags += [Flag(file, line, reason) for reason, line in ordered[:MAX_FLAGS_PER_FILE]]
    if len(ordered) > MAX_FLAGS_PER_FILE:
        flags.append(Flag(file, 0, f"and {len(ordered) - MAX_FLAGS_PER_FILE} more reasons"))
    return flags


class _Scanner:
    """One module's findings: ``(line, reason)`` pairs, from an iterative walk."""

    def __init__(self, tree: ast.AST):
        self.nodes = list(ast.walk(tree))
        self.parent: dict[int, ast.AST] = {}
        for node in self.nodes:
            for child in ast.iter_child_nodes(node):
                self.parent[id(child)] = node
        self.imported: dict[str, set[str]] = {}  # local name -> qualified names it may be
        self.bound: dict[int, set[str]] = {}  # scope id -> names bound there (def, assignment, argument)
        self.attribute_bases: set[int] = set()  # ids of nodes that are the object of an attribute
        self.handled: set[int] = set()  # ids of nodes already judged through their call
        for node in self.nodes:
            self._collect(node)

    def _scopes(self, node: ast.AST):
        """The scopes ``node`` sits in, innermost first (functions, classes, comprehensions, the module)."""
        node = self.parent.get(id(node))
        while node is not None:
            if isinstance(node, _SCOPES):
                yield node
            node = self.parent.get(id(node))

    def _bind(self, node: ast.AST, name: str) -> None:
        scope = next(self._scopes(node), None)
        self.bound.setdefault(id(scope), set()).add(name)

    def _is_bound(self, node: ast.Name) -> bool:
        return any(node.id in self.bound.get(id(scope), ()) for scope in self._scopes(node))

    def _collect(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self.imported.setdefault(alias.asname, set()).add(alias.name)
                else:
                    top = alias.name.split(".", 1)[0]
                    self.imported.setdefault(top, set()).add(top)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            for alias in node.names:
                if alias.name != "*":
                    self.imported.setdefault(alias.asname or alias.name, set()).add(f"{node.module}.{alias.name}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self._bind(node, node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            self._bind(node, node.id)
        elif isinstance(node, ast.arg):
            self._bind(node, node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            self._bind(node, node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            self._bind(node, node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            self._bind(node, node.rest)
        elif isinstance(node, ast.Attribute):
            self.attribute_bases.add(id(node.value))

    def resolve(self, node: ast.AST) -> set[str]:
        """The qualified names ``node`` (a name or an attribute chain) may stand for."""
        attrs: list[str] = []
        while isinstance(node, ast.Attribute):
            attrs.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return set()
        bases = set(self.imported.get(node.id, ()))
        if not bases and node.id in _BUILTIN_NAMES and not self._is_bound(node):
            bases.add(f"builtins.{node.id}")
        suffix = "".join(f".{attr}" for attr in reversed(attrs))
        return {_unalias(base + suffix) for base in bases}

    def findings(self):
        for node in self.nodes:
            line = getattr(node, "lineno", 0)
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield from _some(line, import_reason(alias.name), name_reason(alias.name))
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                if import_reason(node.module):
                    yield line, import_reason(node.module)
                    continue
                for alias in node.names:
                    if alias.name == "*":
                        if node.module.split(".", 1)[0] in SENSITIVE_MODULES:
                            yield line, f"imports everything from {node.module}"
                    else:
                        yield from _some(line, name_reason(f"{node.module}.{alias.name}"))
            elif isinstance(node, ast.Call):
                yield from self._call(node, line)
            elif isinstance(node, ast.Attribute):
                yield from _some(line, attribute_reason(node.attr))
                if id(node) not in self.handled:
                    for qualified in self.resolve(node):
                        yield from _some(line, name_reason(qualified), _indirect(qualified))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                yield from self._name(node, line)
            elif isinstance(node, ast.Name):  # bound, not read
                yield from _some(line, attribute_reason(node.id) if node.id in (REGISTRY, "__builtins__") else None)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                yield from _some(line, string_reason(node.value))

    def _name(self, node: ast.Name, line: int):
        if node.id == "__builtins__":
            yield line, "reaches into __builtins__"
        if node.id == REGISTRY:
            yield line, "names the grader's probe registry (_REGISTRY)"
        if id(node) in self.handled:
            return
        for qualified in self.resolve(node):
            yield from _some(line, name_reason(qualified), _indirect(qualified))
            if qualified in SENSITIVE_MODULES and id(node) not in self.attribute_bases:
                yield line, f"uses the {qualified} module as a value (getattr, vars...): what it reaches is hidden"

    def _call(self, node: ast.Call, line: int):
        qualified = self.resolve(node.func)
        if "importlib.import_module" in qualified:
            self.handled.add(id(node.func))
            names = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "name")]
            literal = names and isinstance(names[0], ast.Constant) and isinstance(names[0].value, str)
            if literal:
                yield from _some(line, import_reason(names[0].value), name_reason(names[0].value))
            else:
                yield line, "runs dynamic code (importlib.import_module of a computed name)"
        if qualified & _GETATTR_FAMILY and len(node.args) >= 2:
            obj, attr = node.args[0], node.args[1]
            if isinstance(attr, ast.Constant) and isinstance(attr.value, str):
                self.handled.add(id(obj))  # judged as obj.attr here
                for base in self.resolve(obj):
                    yield from _some(line, name_reason(f"{base}.{attr.value}"))


def _unalias(qualified: str) -> str:
    for alias, target in _ALIASES.items():
        if qualified == alias or qualified.startswith(alias + "."):
            return target + qualified[len(alias):]
    return qualified


def _indirect(qualified: str) -> str | None:
    """``importlib.import_module`` used other than called with a literal name."""
    if qualified == "importlib.import_module":
        return "runs dynamic code (importlib.import_module used indirectly)"
    return None


def _some(line: int, *reasons: str | None):
    for reason in dict.fromkeys(reasons):
        if reason:
            yield line, reason


def flags_text(flags: list[Flag] | list[dict]) -> str:
    """The flags on one line, for the gradebook: ``model.py:12 imports the grader; ...``."""
    return "; ".join((flag if isinstance(flag, Flag) else Flag.from_json(flag)).text() for flag in flags)


__all__ = ["Flag", "screen", "screen_source", "flags_text", "probe_ids", "PROBE_IDS", "MAX_PLAUSIBLE_BYTES"]
