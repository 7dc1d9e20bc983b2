"""The lock-down a grading worker runs under (the child side: ``grader.isolation.worker_main``).

The parent prepares a private folder (``Workspace``) and starts the worker; the worker
calls ``lock_down(config)`` as the first thing it does, before importing NumPy or
TensorFlow (a single-threaded process is required to enter namespaces). In order:

1. **Namespaces** (``unshare``): mount, network, PID and IPC. The network namespace has
   no interfaces but a down loopback, so every connection fails. As a regular user
   the same is tried inside a new user namespace.
2. **PID namespace**: the worker forks; the child is PID 1 of a namespace of its own,
   so when it dies the kernel kills every process it started (fork bombs, daemons).
   The original process waits and relays the exit status.
3. **Jail**: a size-capped tmpfs becomes the root (``chroot``) holding read-only bind
   mounts of the system folders, the Python installation, the ``grader`` package and
   the submission copy, a fresh ``/proc``, a few ``/dev`` nodes, an empty ``/tmp`` and a
   private working folder (the cwd). ``data_cache/``, the results, the training cache,
   other students' folders and the rest of the repository are simply not there.
4. **Limits** (``setrlimit``, soft = hard unless noted): CPU seconds, data segment,
   file size, processes (counted per user and user namespace, so only with a dedicated
   user or in a user namespace of its own), no cores.
   ``RLIMIT_DATA`` rather than ``RLIMIT_AS``: TensorFlow maps about 3 GB of address
   space (shared libraries, thread stacks, reserved arenas) for about 1 GB of real use,
   so an address-space limit measures the wrong thing; the data limit counts private
   writable memory (heap, anonymous maps), which is what a runaway allocation grows.
5. **User**: as root, switch to a dedicated unprivileged uid/gid (``UID_BASE`` + the
   parent's PID, unique among live workers) with no supplementary groups and
   ``no_new_privs``; in a user namespace (no root), drop every capability and empty
   the bounding set, so nothing the student runs can undo the mounts or the chroot.

Each step degrades gracefully when the machine does not allow it (no root, no user
namespaces, a container without ``CAP_SYS_ADMIN``); ``lock_down`` returns a record of
what was applied and what was not, and why, which the worker reports to the parent.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import shutil
import signal
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: First uid/gid of the dedicated worker users (far above any real account).
UID_BASE = 1_900_000_000
#: System folders mounted read-only into the jail (when they exist).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
#: Device nodes bound into the jail's /dev.
DEVICES = ("null", "zero", "full", "random", "urandom")

_CLONE_NEWNS, _CLONE_NEWIPC, _CLONE_NEWUSER = 0x00020000, 0x08000000, 0x10000000
_CLONE_NEWPID, _CLONE_NEWNET = 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 24, 38
_CAPABILITY_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker process (and everything it starts)."""

    memory_mb: int = 4096  # RLIMIT_DATA: private writable memory
    cpu_seconds: int = 3600  # RLIMIT_CPU over the worker's whole life (SIGXCPU, then SIGKILL)
    file_mb: int = 64  # RLIMIT_FSIZE per file, and the size of the jail's tmpfs
    processes: int = 512  # RLIMIT_NPROC (threads count too; TensorFlow starts ~30)
    nice: int = 0  # added to the worker's scheduling niceness (a bar run trains at 10, behind the checks)


@dataclass
class Workspace:
    """The private folder of one worker, made and removed by the parent (root-owned).

    ``submission/`` is a copy of the target folder the worker may only read; ``work/``
    is the cwd when no jail can be built; ``output.log`` takes the worker's stdout and
    stderr; ``jail/`` is the mount point of the jail's root (empty outside the worker).
    """

    folder: Path
    uid: int | None = None
    gid: int | None = None

    @classmethod
    def create(cls, target_folder: Path) -> "Workspace":
        """A fresh workspace in the temporary folder (``TMPDIR``), for the calling process."""
        root = os.geteuid() == 0
        uid = gid = UID_BASE + os.getpid() if root else None
        space = cls(Path(tempfile.mkdtemp(prefix="course-worker-")).resolve(), uid, gid)
        space.folder.chmod(0o711)
        shutil.copytree(target_folder, space.submission, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", ".*"))
        for path in (space.work, space.jail):
            path.mkdir()
        space.log.touch(mode=0o600)
        if root:
            os.chown(space.work, uid, gid)
            for path in (space.submission, *space.submission.rglob("*")):
                os.chown(path, 0, gid, follow_symlinks=False)
                if not path.is_symlink():
                    path.chmod(0o750 if path.is_dir() else 0o640)
        return space

    submission = property(lambda self: self.folder / "submission")
    work = property(lambda self: self.folder / "work")
    jail = property(lambda self: self.folder / "jail")
    log = property(lambda self: self.folder / "output.log")

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Config:
    """What the parent tells the worker (one JSON argument on its command line)."""

    folder: str
    limits: dict = field(default_factory=dict)
    uid: int | None = None
    gid: int | None = None
    parent_pid: int = 0
    use_namespaces: bool = True
    cgroup: list[str] = field(default_factory=list)  # cgroup.procs files to join first (grader.isolation.cgroup)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls(**json.loads(text))


def _call(name: str, *args) -> None:
    """A libc call that raises ``OSError`` on failure."""
    if getattr(_libc, name)(*args) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{name}: {os.strerror(code)}")


def _mount(source: str | None, target: str | Path | None, kind: str | None, flags: int, data: str | None = None):
    encode = lambda text: None if text is None else os.fsencode(str(text))  # noqa: E731
    _call("mount", encode(source), encode(target), encode(kind), ctypes.c_ulong(flags), encode(data))


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (reset by every change of user)."""
    _call("prctl", _PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def lock_down(config: Config) -> dict:
    """Lock this (single-threaded) process down; return what was applied.

    May fork: the original process never returns (it relays the child's exit status).
    """
    record: dict = {"limits": {}, "not_applied": {}}
    root = os.geteuid() == 0  # before any user namespace maps it
    die_with_parent()
    if os.getppid() != config.parent_pid:
        os._exit(70)  # the parent died before the PDEATHSIG was armed
    namespaces = _enter_namespaces(config, record) if config.use_namespaces else 0
    if not config.use_namespaces:
        record["not_applied"]["namespaces"] = "disabled by the caller"
    if namespaces & _CLONE_NEWPID:
        _become_pid_one()
        die_with_parent()
        record["processes"] = "PID namespace (all killed with the worker)"
    try:
        if not namespaces & _CLONE_NEWNS:
            raise OSError("no mount namespace")
        _build_jail(config, record, fresh_proc=bool(namespaces & _CLONE_NEWPID))
    except OSError as error:
        os.chdir(Path(config.folder) / "work")
        record["not_applied"]["filesystem"] = f"no jail ({error}): the file system is visible"
    # The process count is per user and per user namespace: a dedicated uid or a user
    # namespace of its own counts only the worker's tasks (the kernel never applies it to root).
    own_count = (config.uid is not None and not namespaces & _CLONE_NEWUSER) or (
        bool(namespaces & _CLONE_NEWUSER) and not root)
    _apply_limits(Limits(**config.limits), own_process_count=own_count, record=record)
    _drop_privileges(config, namespaces, record)
    die_with_parent()
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # over-size writes fail with EFBIG instead
    return record


def _enter_namespaces(config: Config, record: dict) -> int:
    """Unshare mount, network, PID and IPC namespaces (in a user namespace if needed)."""
    wanted = _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWPID | _CLONE_NEWIPC
    attempts = [wanted, wanted | _CLONE_NEWUSER] if os.geteuid() == 0 else [wanted | _CLONE_NEWUSER]
    reasons = []
    uid, gid = os.geteuid(), os.getegid()  # unmapped (65534) once in a new user namespace
    for flags in attempts:
        try:
            _call("unshare", flags)
        except OSError as error:
            reasons.append(str(error))
            continue
        if flags & _CLONE_NEWUSER:
            _map_user_namespace(uid, gid)
            record["user_namespace"] = True
        record["network"] = "isolated (empty network namespace)"
        return flags
    record["not_applied"]["network"] = record["not_applied"]["namespaces"] = "; ".join(reasons)
    return 0


def _map_user_namespace(uid: int, gid: int) -> None:
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"0 {uid} 1")
    Path("/proc/self/gid_map").write_text(f"0 {gid} 1")


def _become_pid_one() -> None:
    """Fork into the new PID namespace; the original process waits and relays."""
    child = os.fork()
    if child == 0:
        return
    os.closerange(3, 1 << 16)  # the child alone holds the protocol pipes
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def _bind_sources(config: Config) -> list[Path]:
    """Folders the worker must see (read-only): system, Python, grader, submission."""
    import site

    import grader

    python = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages()}
    candidates = [Path(path) for path in SYSTEM_DIRS]
    candidates += [Path(path).resolve() for path in python]
    candidates += [Path(grader.__file__).resolve().parent, Path(config.folder) / "submission"]
    chosen: list[Path] = []
    for path in sorted(set(candidates), key=lambda p: len(p.parts)):
        if (path.exists() or path.is_symlink()) and not any(path.is_relative_to(done) for done in chosen):
            chosen.append(path)
    return chosen


def _build_jail(config: Config, record: dict, fresh_proc: bool) -> None:
    """Make a tmpfs root of read-only binds and chroot into it (see the module docstring)."""
    limits = Limits(**config.limits)
    jail = Path(config.folder) / "jail"
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount("tmpfs", jail, "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={limits.file_mb}m,nr_inodes=16384,mode=0755")
    for source in _bind_sources(config):
        _bind(source, jail)
    for name in DEVICES:
        node = jail / "dev" / name
        node.parent.mkdir(parents=True, exist_ok=True)
        node.touch()
        _mount(f"/dev/{name}", node, None, _MS_BIND)
    for name, link in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                       ("stderr", "/proc/self/fd/2")):
        (jail / "dev" / name).symlink_to(link)
    for scratch in ("tmp", "dev/shm"):
        (jail / scratch).mkdir(parents=True, exist_ok=True)
        (jail / scratch).chmod(0o1777)
    (jail / "proc").mkdir()
    if fresh_proc:
        _mount("proc", jail / "proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    else:
        _bind(Path("/proc"), jail)
    work = jail / Path(config.folder, "work").relative_to("/")
    work.mkdir(parents=True, mode=0o700)
    if config.uid is not None:
        os.chown(work, config.uid, config.gid)
    os.chroot(jail)
    os.chdir(Path(config.folder) / "work")
    record["filesystem"] = (f"chroot jail: read-only system, Python, grader and submission; "
                            f"writable /tmp and working folder (tmpfs of {limits.file_mb} MB)")


def _bind(source: Path, jail: Path) -> None:
    """Mount ``source`` read-only at the same path inside ``jail`` (symlinks copied)."""
    target = jail / source.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_symlink():
        target.symlink_to(os.readlink(source))
        return
    target.mkdir(exist_ok=True) if source.is_dir() else target.touch()
    _mount(str(source), target, None, _MS_BIND | _MS_REC)
    # A remount must keep the flags the original mount is locked with (user namespaces).
    kept = os.statvfs(source).f_flag & (_MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    _mount(None, target, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | kept)


def _apply_limits(limits: Limits, own_process_count: bool, record: dict) -> None:
    wanted = {
        "RLIMIT_CORE": (0, "no core dumps"),
        "RLIMIT_CPU": (limits.cpu_seconds, f"{limits.cpu_seconds} s of CPU time"),
        "RLIMIT_DATA": (limits.memory_mb << 20, f"{limits.memory_mb} MB of data memory"),
        "RLIMIT_FSIZE": (limits.file_mb << 20, f"{limits.file_mb} MB per file"),
    }
    if own_process_count:
        wanted["RLIMIT_NPROC"] = (limits.processes, f"{limits.processes} processes and threads")
    else:
        record["not_applied"]["RLIMIT_NPROC"] = ("counted per user: only set with a dedicated user "
                                                 "or a user namespace")
    if limits.nice:
        os.nice(limits.nice)  # lowering one's own priority needs no privilege
        record["limits"]["nice"] = f"niceness +{limits.nice}"
    for name, (value, text) in wanted.items():
        kind = getattr(resource, name)
        hard = value + 10 if name == "RLIMIT_CPU" else value  # SIGXCPU first, SIGKILL 10 s later
        try:
            resource.setrlimit(kind, (value, hard))
            record["limits"][name] = text
        except (OSError, ValueError) as error:
            record["not_applied"][name] = str(error)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities() -> None:
    """Empty the bounding set (so no ``execve`` regains anything) and every capability set."""
    for capability in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")
    _call("capset", ctypes.byref(_CapHeader(_CAPABILITY_VERSION_3, 0)), (_CapData * 2)())


def _drop_privileges(config: Config, namespaces: int, record: dict) -> None:
    """Become the dedicated user (as root), or shed the user namespace's capabilities."""
    if namespaces & _CLONE_NEWUSER:
        _drop_capabilities()
        record["user"] = "unchanged (user namespace), every capability dropped"
    elif config.uid is not None:
        os.setgroups([])
        os.setresgid(config.gid, config.gid, config.gid)
        os.setresuid(config.uid, config.uid, config.uid)
        record["user"] = f"dedicated uid {config.uid}"
    else:
        record["not_applied"]["user"] = "not root: runs as the grading user"
    try:
        _call("prctl", _PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise


__all__ = ["Limits", "Workspace", "Config", "lock_down", "UID_BASE"]
