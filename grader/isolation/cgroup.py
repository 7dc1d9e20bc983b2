"""A cgroup per grading worker: memory that counts everything, and a process limit.

``RLIMIT_DATA`` only counts a process's private writable memory. Shared memory does not
count: 100 memfds of 60 MB each, a ``MAP_SHARED`` anonymous mapping or files on a tmpfs
(``/dev/shm``) take host memory that no rlimit sees. A memory cgroup charges every page
its processes bring in, whatever the kind: anonymous memory, page cache, shmem, memfds
and tmpfs pages. Over the limit the kernel reclaims what it can (page cache) and
otherwise OOM-kills inside the group, so a memory bomb gets killed (``memory`` status)
and takes nothing from the host beyond the limit.

Usage. The trusted grading process (root, or a user the cgroup tree is delegated to)::

    try:
        group = WorkerCgroup.create(memory_mb=4096, processes=512)
    except CgroupUnavailable as error:
        group = None                      # record error.reason in grading.json
    spec = group.join_spec()              # plain strings: pass them in the worker's config
    ...                                   # start the worker; when it has ended:
    group.kill_all()                      # whatever is left of it
    record = group.describe()             # peak_mb, out_of_memory, ... for grading.json
    group.remove()

and the worker, as its very first step (before it allocates anything, while it still
has the rights to move itself)::

    join(spec)                            # raises OSError: then exit, never run unlimited

``WorkerCgroup.add(pid)`` moves a process from outside instead (the parent, right after
starting it); ``join`` in the child is better because nothing the child allocates can be
charged elsewhere first. Children inherit the group, so everything the worker starts
(its PID namespace, forks, threads) is inside it.

Where the groups live. The calling process's own cgroup (``/proc/self/cgroup``) gets a
child ``course-grader`` holding one group per worker (``w<grader pid>-<n>``), so the
workers stay inside whatever limits the grader itself runs under:

- **cgroup v2** (a ``cgroup2`` mount with the ``memory`` controller): ``memory.max``,
  ``memory.swap.max`` = 0 (swap cannot extend the limit), ``memory.oom.group`` = 1 (an
  OOM kill takes the whole worker), ``pids.max``; ``memory.peak`` and ``memory.events``
  report. The "no internal processes" rule: controllers can only be enabled for the
  children of a group with no processes of its own, so when the grader's own group has
  processes (a login session's scope) ``course-grader`` is made next to it, under the
  nearest ancestor that allows it. Enabling ``+memory +pids`` there (where they are
  not yet) is left in place: it only makes the controllers available to children.
- **cgroup v1** (the ``memory`` and ``pids`` hierarchies): ``memory.limit_in_bytes`` and
  ``memory.memsw.limit_in_bytes`` (memory + swap, where swap accounting exists) set to
  the limit, the OOM killer enabled (``memory.oom_control``), ``pids.max``;
  ``memory.max_usage_in_bytes`` and the ``oom_kill`` count of ``memory.oom_control``
  report.
- **Neither** (no memory controller, a read-only cgroup file system in a container, not
  root and nothing delegated): ``create`` raises ``CgroupUnavailable`` with the reason;
  ``unavailable_reason()`` says it without keeping a group.

The pids controller counts tasks (processes and threads) of the group as a whole, not
per user; a machine without it still gets the memory limit (``describe()`` says so).

The peak includes page cache (files read, libraries loaded), which the kernel reclaims
before it OOM-kills, so a peak close to the limit is not a fault by itself; use
``out_of_memory()``. Pages of a tmpfs file outlive the process that wrote them (and stay
charged to the removed group until the file is deleted); the worker's jail keeps
``/tmp`` and ``/dev/shm`` on its own small tmpfs, which dies with the worker.
"""

from __future__ import annotations

import errno
import itertools
import os
import signal
import time
from pathlib import Path

#: Folder made inside the grader's own cgroup to hold the workers' groups.
PARENT_NAME = "course-grader"
#: Seconds ``kill_all`` and ``remove`` wait for a group to empty.
KILL_TIMEOUT = 10.0

_counter = itertools.count(1)
_CONTROLLERS = ("memory", "pids")


class CgroupUnavailable(Exception):
    """No cgroup can be made here; ``reason`` says why (for ``sandbox.not_applied``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# -- reading and writing control files ------------------------------------------------------

def _read(path: Path) -> str:
    with open(path) as stream:
        return stream.read()


def _write(path: Path | str, text: str) -> None:
    """One unbuffered write, so the kernel's refusal is raised here (not at close)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _keyed(path: Path) -> dict[str, int]:
    """A flat-keyed file (``key value`` lines: ``memory.events``, ``memory.oom_control``)."""
    values = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values


def _pids(procs: Path) -> list[int]:
    try:
        return [int(line) for line in _read(procs).split()]
    except FileNotFoundError:
        return []


# -- where the hierarchies are ---------------------------------------------------------------

def _unescape(text: str) -> str:
    """Mount points in ``mountinfo`` escape spaces and the like as ``\\040``."""
    parts = text.split("\\")
    return parts[0] + "".join(chr(int(part[:3], 8)) + part[3:] for part in parts[1:])


def _hierarchies() -> tuple[Path | None, dict[str, Path]]:
    """The calling process's own cgroup folder: in cgroup v2, and per v1 controller."""
    own_v1: dict[str, str] = {}
    own_v2 = None
    for line in _read(Path("/proc/self/cgroup")).splitlines():
        number, controllers, path = line.split(":", 2)
        if number == "0" and not controllers:
            own_v2 = path
        for name in controllers.split(","):
            own_v1[name] = path
    v2, v1 = None, {}
    for line in _read(Path("/proc/self/mountinfo")).splitlines():
        fields, _, tail = line.partition(" - ")
        fields, tail = fields.split(), tail.split()
        root, point, kind, options = _unescape(fields[3]), _unescape(fields[4]), tail[0], tail[-1].split(",")
        if kind in ("cgroup", "cgroup2") and not Path(point, "cgroup.procs").exists():
            continue  # hidden by a later mount
        if kind == "cgroup2" and own_v2 is not None and v2 is None:
            v2 = _inside(Path(point), root, own_v2)
        elif kind == "cgroup":
            for name in _CONTROLLERS:
                if name in options and name in own_v1:
                    v1.setdefault(name, _inside(Path(point), root, own_v1[name]))
    return v2, v1


def _inside(mount: Path, root: str, own: str) -> Path:
    """The folder of cgroup ``own`` in a mount of hierarchy folder ``root``."""
    if root != "/" and (own == root or own.startswith(root.rstrip("/") + "/")):
        own = own[len(root):]
    elif root != "/":
        own = "/"  # the mount does not show our group (a container's bind mount): use its top
    folder = mount / own.lstrip("/")
    return folder if folder.is_dir() else mount


def _mount_top(folder: Path) -> Path:
    """The mount point of the cgroup file system ``folder`` is in."""
    device = folder.stat().st_dev
    while folder.parent != folder and folder.parent.stat().st_dev == device:
        folder = folder.parent
    return folder


# -- setting a group up ---------------------------------------------------------------------

def _make_dir(folder: Path) -> None:
    try:
        folder.mkdir()
    except FileExistsError:
        pass


def _v2_base(own: Path) -> Path:
    """``course-grader`` with memory (and pids) enabled for its children, in v2."""
    top, reasons = _mount_top(own), []
    for folder in (own, *own.parents):
        available = _read(folder / "cgroup.controllers").split()
        wanted = [name for name in _CONTROLLERS if name in available]
        if "memory" in wanted:
            missing = [name for name in wanted if name not in _read(folder / "cgroup.subtree_control").split()]
            try:
                if missing:
                    _write(folder / "cgroup.subtree_control", " ".join(f"+{name}" for name in missing))
                base = folder / PARENT_NAME
                _make_dir(base)
                _write(base / "cgroup.subtree_control", " ".join(f"+{name}" for name in wanted))
                return base
            except OSError as error:
                if error.errno == errno.EBUSY:
                    reasons.append(f"{folder} has processes of its own (cgroup v2 enables controllers only for "
                                   f"the children of a group without processes)")
                elif error.errno == errno.ENOENT:
                    raise  # a concurrent remove took the shared parent away: try again
                else:
                    reasons.append(f"{folder}: {error.strerror}")
        if folder == top:
            break
    raise CgroupUnavailable("; ".join(reasons) or f"no memory controller for the children of {own}")


def _clean_old(folder: Path) -> None:
    """A group of the same name from an earlier (crashed) run: kill its processes, remove it."""
    if folder.is_dir():
        _kill_members([folder / "cgroup.procs"], folder / "cgroup.kill", KILL_TIMEOUT)
        if not _rmdir(folder, KILL_TIMEOUT):
            raise OSError(errno.EBUSY, f"an old group {folder} cannot be emptied and removed")


#: Age (seconds) after which an empty group of a grader that is gone may be swept.
_SWEEP_AGE = 60.0


def _sweep(base: Path) -> None:
    """Remove empty groups left by graders that are gone (``w<pid>-<n>`` with no such pid)."""
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        owner = entry.name[1:].partition("-")[0]
        if not (entry.name.startswith("w") and owner.isdigit()) or Path(f"/proc/{owner}").exists():
            continue
        try:  # old enough not to be one a grader in another PID namespace is setting up now
            if time.time() - entry.stat().st_ctime > _SWEEP_AGE:
                entry.rmdir()
        except OSError:
            pass  # not empty, or another sweeper got there first


def _rmdir(folder: Path, timeout: float) -> bool:
    """Remove an (emptied) group folder; True when it is gone."""
    end = time.monotonic() + timeout
    while True:
        try:
            folder.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as error:
            if error.errno != errno.EBUSY or time.monotonic() > end:
                return False
        time.sleep(0.01)  # the last tasks are still exiting


def _kill_members(procs_files: list[Path], kill_file: Path | None, timeout: float) -> bool:
    """SIGKILL every process in the group until it is empty; True if it is.

    With ``cgroup.kill`` (v2, kernel 5.14+) the kernel does it atomically. Otherwise each
    pid is opened as a pidfd and signalled only if it is still listed after the pidfd was
    opened, so a pid reused by a process outside the group is never signalled.
    """
    if kill_file is not None and kill_file.exists():
        try:
            _write(kill_file, "1")
        except OSError:
            pass
    end = time.monotonic() + timeout
    while True:
        listed = [pid for procs in procs_files for pid in _pids(procs)]
        if not listed:
            return True
        if time.monotonic() > end:
            return False
        handles = {}
        for pid in set(listed):
            try:
                handles[pid] = os.pidfd_open(pid)
            except OSError:
                pass  # gone already
        still = {pid for procs in procs_files for pid in _pids(procs)}
        for pid, handle in handles.items():
            try:
                if pid in still:
                    signal.pidfd_send_signal(handle, signal.SIGKILL)
            except OSError:
                pass
            finally:
                os.close(handle)
        time.sleep(0.005)


class WorkerCgroup:
    """One worker's cgroup (v1: a folder in the memory and one in the pids hierarchy)."""

    def __init__(self, version: int, memory: Path, pids: Path | None, memory_mb: int, processes: int,
                 notes: dict[str, str]):
        self.version, self.memory, self.pids = version, memory, pids
        self.memory_mb, self.processes = memory_mb, processes
        self.notes = notes  # what could not be applied, and why
        self.removed = False

    @classmethod
    def create(cls, memory_mb: int, processes: int, name: str | None = None) -> "WorkerCgroup":
        """A new group limited to ``memory_mb`` MB (everything charged) and ``processes`` tasks.

        ``name`` defaults to ``w<this pid>-<counter>``, unique among the live graders; an
        existing group of that name (a crashed run) is emptied and replaced. Raises
        ``CgroupUnavailable`` when no memory cgroup can be made here.
        """
        name = name or f"w{os.getpid()}-{next(_counter)}"
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"not a cgroup name: {name!r}")
        try:
            v2, v1 = _hierarchies()
            v2_controllers = _read(_mount_top(v2) / "cgroup.controllers").split() if v2 is not None else []
        except (OSError, ValueError, IndexError) as error:
            raise CgroupUnavailable(f"cannot find the cgroup hierarchies (/proc/self/cgroup, mountinfo): "
                                    f"{error}") from None
        if "memory" in v2_controllers:
            make = cls._create_v2
            where = v2
        elif "memory" in v1:
            make = cls._create_v1
            where = v1["memory"]
        else:
            raise CgroupUnavailable(_why_no_controller(v2))
        for attempt in range(5):  # a concurrent ``remove`` may take the shared parent away
            try:
                return make(v2, v1, name, memory_mb, processes)
            except FileNotFoundError:
                if attempt == 4:
                    raise CgroupUnavailable(f"cgroup folders vanish under {where}") from None
            except OSError as error:
                raise CgroupUnavailable(_why(error, where)) from None
        raise AssertionError("unreachable")

    @classmethod
    def _create_v2(cls, v2: Path, v1: dict, name: str, memory_mb: int, processes: int) -> "WorkerCgroup":
        base = _v2_base(v2)
        _sweep(base)
        folder = base / name
        _clean_old(folder)
        folder.mkdir()
        group = cls(2, folder, None, memory_mb, processes, {})
        try:
            limit = str(memory_mb << 20)
            _write(folder / "memory.max", limit)
            if (folder / "memory.swap.max").exists():
                _write(folder / "memory.swap.max", "0")
            elif _swap_total():
                group.notes["swap"] = "no memory.swap.max (swap accounting off): swap may extend the limit"
            if (folder / "memory.oom.group").exists():
                _write(folder / "memory.oom.group", "1")
            if (folder / "pids.max").exists():
                _write(folder / "pids.max", str(processes))
                group.pids = folder
            else:
                group.notes["pids"] = f"no pids controller in {base}"
        except BaseException:
            group.remove()
            raise
        return group

    @classmethod
    def _create_v1(cls, v2: Path | None, v1: dict, name: str, memory_mb: int, processes: int) -> "WorkerCgroup":
        folders: dict[str, Path] = {}
        try:
            for controller in _CONTROLLERS:
                if controller in v1:
                    base = v1[controller] / PARENT_NAME
                    folder = base / name
                    shared = folder in folders.values()  # memory and pids mounted together: one folder
                    if not shared:
                        _make_dir(base)
                        _sweep(base)
                        _clean_old(folder)
                        folder.mkdir()
                    folders[controller] = folder
        except BaseException:
            for folder in folders.values():
                _rmdir(folder, 0)
            raise
        group = cls(1, folders["memory"], folders.get("pids"), memory_mb, processes, {})
        try:
            memory = folders["memory"]
            _try_write(memory / "memory.use_hierarchy", "1")  # always 1 on recent kernels
            limit = str(memory_mb << 20)
            _write(memory / "memory.limit_in_bytes", limit)  # before memsw, which may not be lower
            if (memory / "memory.memsw.limit_in_bytes").exists():
                _write(memory / "memory.memsw.limit_in_bytes", limit)
            elif _swap_total():
                group.notes["swap"] = "no memory.memsw (swapaccount=0): swap may extend the limit"
            _write(memory / "memory.oom_control", "0")  # the kernel OOM-kills inside the group
            if group.pids is not None:
                _write(group.pids / "pids.max", str(processes))
            else:
                group.notes["pids"] = "no v1 pids hierarchy mounted"
        except BaseException:
            group.remove()
            raise
        return group

    # -- membership ------------------------------------------------------------------------

    def _folders(self) -> list[Path]:
        return [self.memory] + ([self.pids] if self.pids is not None and self.pids != self.memory else [])

    def join_spec(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes itself into (for ``join`` in the child)."""
        return [str(folder / "cgroup.procs") for folder in self._folders()]

    def add(self, pid: int) -> None:
        """Move process ``pid`` (not its existing children) in; what it starts later is inside."""
        for procs in self.join_spec():
            _write(procs, str(pid))

    def pids_inside(self) -> list[int]:
        """The processes in the group (as seen from the calling process's PID namespace)."""
        return sorted({pid for folder in self._folders() for pid in _pids(folder / "cgroup.procs")})

    # -- what happened ---------------------------------------------------------------------

    def peak_mb(self) -> float | None:
        """The most memory the group ever had charged (MB); None if the kernel does not say."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int(_read(self.memory / name)) / (1 << 20)
        except (OSError, ValueError):
            return None

    def oom_kills(self) -> int:
        """How many times the kernel's OOM killer killed a process of the group."""
        try:
            if self.version == 2:
                events = _keyed(self.memory / "memory.events")
                return events.get("oom_kill", 0)
            return _keyed(self.memory / "memory.oom_control").get("oom_kill", 0)
        except OSError:
            return 0

    def out_of_memory(self) -> bool:
        """True if the group ran out of memory: an OOM kill, or (v2) an allocation that failed."""
        try:
            if self.version == 2:
                events = _keyed(self.memory / "memory.events")
                return any(events.get(key, 0) for key in ("oom", "oom_kill", "oom_group_kill"))
            control = _keyed(self.memory / "memory.oom_control")
            return bool(control.get("oom_kill", 0) or control.get("under_oom", 0))
        except OSError:
            return False

    def processes_limited(self) -> bool:
        """True if a fork or thread was refused because of the process limit."""
        if self.pids is None:
            return False
        try:
            return _keyed(self.pids / "pids.events").get("max", 0) > 0
        except OSError:
            return False

    def describe(self) -> dict:
        """What was applied and what it measured so far (for ``grading.json``)."""
        record = {
            "version": self.version,
            "path": str(self.memory),
            "memory_mb": self.memory_mb,
            "memory": ("everything charged: anonymous memory, page cache, shared memory, memfds, tmpfs"
                       + ("" if "swap" in self.notes else ", no swap beyond the limit")),
            "processes": self.processes if self.pids is not None else None,
            "peak_mb": None if (peak := self.peak_mb()) is None else round(peak, 1),
            "oom_kills": self.oom_kills(),
            "out_of_memory": self.out_of_memory(),
            "processes_limited": self.processes_limited(),
        }
        if self.pids is not None and self.pids != self.memory:
            record["pids_path"] = str(self.pids)
        if self.notes:
            record["not_applied"] = dict(self.notes)
        return record

    # -- the end ---------------------------------------------------------------------------

    def kill_all(self, timeout: float = KILL_TIMEOUT) -> bool:
        """SIGKILL every process in the group, repeatedly, until it is empty; True if it is."""
        kill_file = self.memory / "cgroup.kill" if self.version == 2 else None
        return _kill_members([folder / "cgroup.procs" for folder in self._folders()], kill_file, timeout)

    def remove(self, timeout: float = KILL_TIMEOUT) -> bool:
        """Kill what is left, remove the group (and ``course-grader`` once empty); True if gone.

        Never raises; safe to call twice. Read ``peak_mb``/``describe`` before: they are gone after.
        """
        if self.removed:
            return True
        try:
            self.kill_all(timeout)
        except OSError:
            pass
        gone = True
        for folder in self._folders():
            gone = _rmdir(folder, timeout) and gone
            try:
                folder.parent.rmdir()  # the shared parent, if no other worker uses it now
            except OSError:
                pass
        self.removed = gone
        return gone

    def __repr__(self) -> str:
        return f"WorkerCgroup(v{self.version}, {self.memory}, {self.memory_mb} MB, {self.processes} tasks)"


def join(spec: list[str]) -> None:
    """Move the calling process into a group: the child's first step, before it allocates.

    ``spec`` is the parent's ``WorkerCgroup.join_spec()`` (plain strings, for a JSON
    config). Writing ``0`` to ``cgroup.procs`` moves the writer itself. Needs the same
    rights as the parent's ``add`` (root, or a delegated tree), so do it before dropping
    privileges. Raises ``OSError`` if the kernel refuses; the worker should then exit
    rather than run unlimited.
    """
    for procs in spec:
        _write(procs, "0")


def unavailable_reason() -> str | None:
    """Why no worker cgroup can be made here, or None if one can (tries, then removes it)."""
    try:
        group = WorkerCgroup.create(memory_mb=64, processes=16, name=f"probe{os.getpid()}-{next(_counter)}")
    except CgroupUnavailable as error:
        return error.reason
    group.remove()
    return None


def _read_or_empty(path: Path) -> str:
    try:
        return _read(path)
    except OSError:
        return ""


def _try_write(path: Path, text: str) -> None:
    try:
        _write(path, text)
    except OSError:
        pass


def _swap_total() -> int:
    for line in _read_or_empty(Path("/proc/meminfo")).splitlines():
        if line.startswith("SwapTotal:"):
            return int(line.split()[1])
    return 0


def _why_no_controller(v2: Path | None) -> str:
    if v2 is not None:
        controllers = _read_or_empty(_mount_top(v2) / "cgroup.controllers").split()
        return (f"no memory controller: cgroup v2 at {_mount_top(v2)} has {' '.join(controllers) or 'none'} "
                f"and no v1 memory hierarchy is mounted")
    return "no cgroup file system with a memory controller is mounted (/proc/self/mountinfo)"


def _why(error: OSError, where: Path) -> str:
    if error.errno == errno.EROFS:
        return f"the cgroup file system at {where} is read-only (a container?)"
    if error.errno in (errno.EACCES, errno.EPERM):
        detail = "" if os.geteuid() == 0 else " (not root, and the cgroup tree is not delegated to this user)"
        return f"no permission to make a cgroup under {where}{detail}: {error.strerror or error}"
    return f"cannot make a cgroup under {where}: {error.strerror or error}"


__all__ = ["WorkerCgroup", "CgroupUnavailable", "join", "unavailable_reason", "PARENT_NAME"]
