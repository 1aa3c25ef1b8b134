"""Rules about the student's code, decided from its source (read with ``ast``, never run).

Two questions, asked by the trusted grader of the whole submission (and by the notebook's own checks
of the cells run so far, so that a student sees the grader's verdict early):

* ``Program.reaches(answer, forbidden)``: does an answer that must be written by hand reach one of
  PyTorch's own kernels — in its own body, through any helper it uses (functions, classes, aliases,
  imports, defined in any cell), by calling the module it was given, or by a name the parent cannot
  resolve (``getattr(torch, name)``)?
* ``tampering(program)``: does student code touch the grading machinery (the check registry, probes,
  the result writer), patch modules, hook IPython, start processes or threads, or run code the parent
  cannot read (``exec``, ``eval``, ``importlib``, frame tricks)? Such a submission is not scored
  automatically: it is flagged for the instructor.
"""
from __future__ import annotations

import ast
import builtins
import copy
import weakref
from dataclasses import dataclass, field

# Names whose reference counts as "uses that kernel" when it is not the student's own definition.
RNN_KERNELS = frozenset({"RNN", "RNNCell", "rnn_tanh", "rnn_relu", "rnn_tanh_cell", "rnn_relu_cell", "_VF"})
# gru_forward is handed the module: besides calling it, reading its class's .forward (e.g.
# super(type(gru), gru).forward) would run nn.GRU's kernel.
GRU_KERNELS = frozenset({"GRU", "GRUCell", "gru", "gru_cell", "quantized_gru", "quantized_gru_cell",
                         "_thnn_fused_gru_cell", "_VF", "RNN", "RNNCell", "rnn_tanh", "rnn_relu", "forward"})
LSTM_KERNELS = frozenset({"LSTM", "LSTMCell", "lstm", "lstm_cell", "quantized_lstm", "quantized_lstm_cell",
                          "_thnn_fused_lstm_cell", "_lstm_mps", "_VF", "GRU", "GRUCell", "gru", "gru_cell"})
AUTOGRAD = frozenset({"backward", "grad", "autograd", "vjp", "jacobian", "functional"})

# Modules student code has no business importing in a graded notebook.
DENIED_MODULES = {
    "importlib": "importlib", "ctypes": "ctypes", "gc": "the garbage collector", "inspect": "inspect",
    "pickle": "pickle", "marshal": "marshal", "dill": "dill", "cloudpickle": "cloudpickle",
    "builtins": "builtins", "IPython": "IPython", "ipykernel": "ipykernel", "jupyter_client": "jupyter_client",
    "zmq": "zmq", "traitlets": "traitlets", "nbformat": "nbformat", "nbclient": "nbclient",
    "nbgrader": "nbgrader", "subprocess": "subprocess", "multiprocessing": "multiprocessing", "pty": "pty",
    "threading": "threads", "_thread": "threads", "concurrent": "threads", "signal": "signal handlers",
    "code": "code", "codeop": "codeop", "runpy": "runpy", "imp": "imp", "sysconfig": "sysconfig",
    "types": "types", "atexit": "atexit", "asyncio": "asyncio",
}
DENIED_COURSE = ("course.checks.", "course.grading")
DENIED_COURSE_PARTS = ("checks", "fixtures")  # course.assignments.aNN_x.checks: an assignment's checks


def _grader_part(name: str) -> bool:
    """An assignment's checks, also split in modules: checks.py, checks_text.py, ..."""
    return name.split("_")[0] in DENIED_COURSE_PARTS
DENIED_CALLS = {"exec", "eval", "compile", "__import__", "globals", "locals", "vars", "get_ipython",
                "breakpoint", "memoryview"}
# Attribute names that only matter to the grading machinery, the interpreter's internals or processes.
DENIED_ATTRS = {
    "probe", "judge", "verdict", "scan", "REGISTRY", "run_probe", "encode", "decode", "savez",
    "savez_compressed", "settrace", "setprofile", "_getframe", "f_back", "f_globals", "f_locals",
    "f_builtins", "f_code", "co_consts", "co_code", "gi_frame", "tb_frame", "tb_next", "meta_path",
    "path_hooks", "path_importer_cache", "addaudithook", "modules", "input_transformers_post",
    "input_transformers_cleanup", "ast_transformers", "set_custom_exc", "showtraceback",
    "_showtraceback", "run_cell", "run_line_magic", "run_cell_magic", "user_ns", "user_global_ns",
    "register_magics", "system", "popen", "fork", "forkpty", "execv", "execve", "execl", "execlp",
    "execvp", "execvpe", "spawnl", "spawnv", "spawnve", "posix_spawn", "kill", "killpg", "setuid",
    "setgid", "setrlimit", "prlimit", "excepthook", "displayhook",
}
ALLOWED_DUNDERS = {"__init__", "__name__", "__class__", "__doc__", "__qualname__", "__module__",
                   "__len__", "__call__", "__repr__", "__str__", "__iter__", "__next__", "__getitem__",
                   "__version__"}
ALLOWED_MAGICS = {"time", "timeit", "matplotlib", "capture", "who", "whos", "pinfo", "pinfo2", "pdoc"}
WRITE_MODES = set("wax+")
BUILTIN_NAMES = set(dir(builtins))


@dataclass
class Cell:
    index: int
    source: str
    student: bool
    trees: list = field(default_factory=list)   # the cell, then the code inside allowed magics
    exempt: set = field(default_factory=set)    # ids of the allowed magic calls themselves

    def nodes(self):
        for tree in self.trees:
            for node in ast.walk(tree):
                if id(node) not in self.exempt:
                    yield node


def _magic(node):
    """("time", code) for get_ipython().run_line_magic("time", "code") / run_cell_magic, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("run_line_magic", "run_cell_magic")
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython" and not node.func.value.args
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
            and node.args and not node.keywords):
        code = node.args[-1].value if node.func.attr == "run_cell_magic" else node.args[1].value \
            if len(node.args) > 1 else ""
        return node.args[0].value, code
    return None


def _parse(source: str) -> tuple[list, set]:
    """The module, plus the code run by allowed magics (%time f(x) runs f(x)), and those calls."""
    tree = ast.parse(_transform(source))
    trees, exempt = [tree], set()
    for node in ast.walk(tree):
        found = _magic(node)
        if found and found[0] in ALLOWED_MAGICS:
            exempt.update(id(n) for n in ast.walk(node.func))
            exempt.add(id(node))
            exempt.update(id(a) for a in node.args)
            if found[0] in ("time", "timeit", "capture"):
                body = "\n".join(l for l in found[1].splitlines() if not l.lstrip().startswith("-"))
                inner, inner_exempt = _parse(body)
                trees += inner
                exempt |= inner_exempt
    return trees, exempt


def _transform(source: str) -> str:
    """IPython syntax (%magics, !shell) as the Python IPython would run."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(source)
    except Exception:  # pragma: no cover - IPython is a dependency
        return source


def _module_bindings(tree: ast.Module):
    """(name, node) for every binding at module level, including inside if/for/with/try blocks."""
    stack = list(tree.body)
    while stack:
        node = stack.pop(0)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name, node
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:  # one statement per name: reaching Linear must not read RNN
                one = (ast.Import(names=[alias]) if isinstance(node, ast.Import) else
                       ast.ImportFrom(module=node.module, names=[alias], level=node.level))
                one.lineno = node.lineno
                yield (alias.asname or alias.name).split(".")[0], one
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor, ast.With,
                             ast.AsyncWith, ast.NamedExpr)):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = [node.target]
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                targets = [node.target]
            else:
                targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        yield name.id, node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                stack.append(child)
            elif isinstance(child, ast.expr):  # walrus in an expression statement
                for sub in ast.walk(child):
                    if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                        yield sub.target.id, node


def _exempt_positions(tree) -> set[int]:
    """ids of nodes that only *mention* a class: annotations and isinstance/issubclass's second arg."""
    exempt = set()
    for node in ast.walk(tree):
        annotations = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            annotations += [a.annotation for a in args.args + args.posonlyargs + args.kwonlyargs
                            + [args.vararg, args.kwarg] if a is not None and a.annotation is not None]
            if node.returns is not None:
                annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2):
            annotations.append(node.args[1])
        for ann in annotations:
            exempt.update(id(n) for n in ast.walk(ann))
    return exempt


def _literal_prefix(node) -> str | None:
    """The constant start of a string expression (f"weight_ih_l{k}" -> "weight_ih_l"), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal_prefix(node.left)
    return None


def _dynamic_name_safe(node, sensitive) -> bool:
    """A getattr name the parent can trust: literal, or with a literal prefix no sensitive name has."""
    if isinstance(node, ast.Constant):
        return True
    prefix = _literal_prefix(node)
    if not prefix or prefix.startswith("_"):
        return False
    return not any(name.startswith(prefix) or prefix.startswith(name) for name in sensitive)


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


class Program:
    """The code cells of a notebook, parsed once. ``cells``: (source, written_by_student) in order.
    ``latest``: a name means its last definition (the notebook's live state) instead of any of them
    (the grader's conservative reading of a whole submission)."""

    def __init__(self, cells, latest: bool = False):
        self.cells: list[Cell] = []
        self.latest = latest
        self.defs: dict[str, list[tuple[ast.AST, Cell]]] = {}
        for index, (source, student) in enumerate(cells):
            cell = Cell(index, source or "", bool(student))
            try:
                cell.trees, cell.exempt = _parse(cell.source)
            except (SyntaxError, ValueError, RecursionError):  # Python could not run it either
                cell.trees = []
            self.cells.append(cell)
            for tree in cell.trees:
                for name, node in _module_bindings(tree):
                    self.defs.setdefault(name, []).append((node, cell))
        self.imported = {name for name, nodes in self.defs.items()
                         if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n, _ in nodes)}

    @classmethod
    def from_notebook(cls, nb) -> "Program":
        """Student cells are solution cells and cells without nbgrader metadata; locked cells and
        tests come from the gradebook (trusted). Test cells are left out."""
        cells = []
        for cell in nb.cells:
            if cell.get("cell_type") != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                continue
            student = bool(meta.get("solution")) or not meta.get("grade_id")
            cells.append((cell.get("source", ""), student))
        return cls(cells)

    @classmethod
    def from_history(cls) -> "Program | None":
        """The cells run so far in this IPython kernel (for the notebook's immediate checks)."""
        try:
            from IPython import get_ipython
            shell = get_ipython()
            history = list(shell.user_ns.get("In", [])) if shell is not None else []
        except Exception:
            return None
        if not history:
            return None
        return cls([(src, True) for src in history if isinstance(src, str)], latest=True)

    # -- what an answer reaches ------------------------------------------------------------------
    def definitions(self, name: str):
        found = self.defs.get(name, [])
        return found[-1:] if self.latest else found

    def closure(self, names) -> list[ast.AST]:
        """Every definition reachable from ``names`` through the names their code uses."""
        todo, seen, nodes = list(names), set(), []
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            for node, _ in self.definitions(name):
                if id(node) in {id(n) for n in nodes}:
                    continue
                nodes.append(node)  # (locals were renamed apart by scoped(): every name is global)
                todo += [sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and sub.id not in seen]
        return nodes

    def reaches(self, answer: str, forbidden, module_param: bool = False, calls: bool = True) -> list[str]:
        """What, reachable from the answer's names, uses one of ``forbidden``: see ``_reaches``. Names
        local to a function, lambda or comprehension are first told apart from the notebook's own."""
        return _scoped_reaches(self, answer, forbidden, module_param, calls)

    def _reaches(self, answer: str, forbidden, module_param: bool = False, calls: bool = True) -> list[str]:
        """What, reachable from the answer's names, uses one of ``forbidden`` (attribute or imported
        names, string constants), calls ``.forward``/``.__call__``, calls the answer's first parameter
        (``module_param``: the module the exercise hands in), or looks a name up dynamically."""
        try:
            roots = {n.id for n in ast.walk(ast.parse(answer, mode="eval")) if isinstance(n, ast.Name)}
        except SyntaxError:
            return [f"the answer {answer!r} could not be read"]
        nodes = self.closure(roots)
        found = []
        sensitive = set(forbidden) | {"forward", "__call__"}
        for node in nodes:
            exempt = _exempt_positions(node)
            for sub in ast.walk(node):
                if id(sub) in exempt:
                    continue
                if isinstance(sub, ast.Attribute) and sub.attr in forbidden:
                    found.append(f"{ast.unparse(sub)}")
                elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                    for alias in sub.names:
                        parts = set(alias.name.split(".")) | ({sub.module.split(".")[-1]} if
                                                              isinstance(sub, ast.ImportFrom) and sub.module else set())
                        if parts & set(forbidden):
                            found.append(f"import of {alias.name}")
                elif isinstance(sub, ast.Constant) and isinstance(sub.value, str) and sub.value in forbidden:
                    found.append(f"the name {sub.value!r}")
                elif isinstance(sub, ast.Name) and sub.id in forbidden and not self.defs.get(sub.id):
                    found.append(sub.id)
                elif isinstance(sub, ast.Call) and calls:
                    func = sub.func
                    if isinstance(func, ast.Attribute) and func.attr in ("forward", "__call__"):
                        found.append(f".{func.attr}(...)")
                    if (isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and len(sub.args) >= 2
                            and not _dynamic_name_safe(sub.args[1], sensitive)):
                        found.append(f"{ast.unparse(sub)[:60]} (a name the grader cannot read)")
                    if isinstance(func, ast.Name) and func.id in ("eval", "exec", "__import__", "globals", "vars"):
                        found.append(f"{func.id}(...)")
            if module_param and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    node.name in roots and node.args.args:
                param = node.args.args[0].arg
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == param:
                        found.append(f"{param}(...) (it calls the module)")
        return sorted(set(found))

    def uses(self, answer: str, name: str) -> bool:
        """Whether code reachable from the answer mentions ``name`` (an attribute, name or import)."""
        return bool(self.reaches(answer, {name}, calls=False))


# ---------------------------------------------------------------------------------------------
# What the answers may use, read from the submission's source (trusted)
# ---------------------------------------------------------------------------------------------
# Program.reaches follows every name an answer's code uses to the notebook's definitions of
# it. Here the names local to a function (its parameters and variables, a lambda's or a
# comprehension's) are first told apart from the notebook's globals: gru_forward's parameter `gru`
# is the module handed in, not the `gru = nn.GRU(...)` of Part A, and a local `output` is not Part A's
# output. They get a suffix no global has (removed again from the messages).
LOCAL = "__local__"
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


def _params(args: ast.arguments) -> set[str]:
    return {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
            if a is not None}


def _outer_parts(node) -> list:
    """The parts of a def, lambda or class evaluated in the scope around it."""
    parts = list(getattr(node, "decorator_list", []))
    if isinstance(node, ast.ClassDef):
        return parts + node.bases + [k.value for k in node.keywords]
    args = node.args
    parts += args.defaults + [d for d in args.kw_defaults if d is not None]
    parts += [a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
              if a is not None and a.annotation is not None]
    return parts + ([node.returns] if getattr(node, "returns", None) is not None else [])


def _bindings(node, names: set, declared: set, in_comprehension=False) -> None:
    """Names ``node`` binds in the current function scope (not in nested defs, lambdas, classes or
    comprehensions, except a walrus there); ``global`` names go to ``declared``."""
    if isinstance(node, _SCOPES):
        if not isinstance(node, ast.Lambda):
            names.add(node.name)
        for part in _outer_parts(node):
            _bindings(part, names, declared, in_comprehension)
        return
    if isinstance(node, _COMPREHENSIONS):
        in_comprehension = True
    if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
        names.add(node.target.id)
    elif not in_comprehension:
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            names.add(node.rest)
        elif isinstance(node, ast.Global):
            declared.update(node.names)
    for child in ast.iter_child_nodes(node):
        _bindings(child, names, declared, in_comprehension)


def _rename_args(args: ast.arguments, local: frozenset) -> None:
    for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
        if a is not None and a.arg in local:
            a.arg += LOCAL


def _localize(node, local: frozenset) -> None:
    """Rename, in place, every name that refers to a function's (lambda's, comprehension's) own
    variable; ``local``: such names visible here."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        for part in _outer_parts(node):
            _localize(part, local)
        names, declared = _params(node.args), set()
        for stmt in (node.body if isinstance(node.body, list) else [node.body]):
            _bindings(stmt, names, declared)
        inner = frozenset((local - declared) | (names - declared))
        _rename_args(node.args, inner)
        for stmt in (node.body if isinstance(node.body, list) else [node.body]):
            _localize(stmt, inner)
        return
    if isinstance(node, ast.ClassDef):  # a class body adds no scope its methods see
        for part in _outer_parts(node):
            _localize(part, local)
        for stmt in node.body:
            _localize(stmt, local)
        return
    if isinstance(node, _COMPREHENSIONS):
        gens = node.generators
        _localize(gens[0].iter, local)  # evaluated around the comprehension
        targets = {n.id for g in gens for n in ast.walk(g.target) if isinstance(n, ast.Name)}
        inner = frozenset(local | targets)
        for i, gen in enumerate(gens):
            _localize(gen.target, inner)
            if i:
                _localize(gen.iter, inner)
            for cond in gen.ifs:
                _localize(cond, inner)
        for part in ([node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]):
            _localize(part, inner)
        return
    if isinstance(node, ast.Name) and node.id in local:
        node.id += LOCAL
    elif isinstance(node, ast.ExceptHandler) and node.name in local:
        node.name += LOCAL
    elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name in local:
        node.name += LOCAL
    for child in ast.iter_child_nodes(node):
        _localize(child, local)


class _DropMagics(ast.NodeTransformer):
    """The allowed magics' calls (rules.Cell.exempt) out of a copied cell: their code is its own tree."""

    def __init__(self, exempt):
        self.exempt = exempt

    def visit_Call(self, node):
        if id(node) in self.exempt:
            return ast.copy_location(ast.Constant(None), node)
        return self.generic_visit(node)


_SCOPED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _rewrite(cell) -> str | None:
    """The cell's code with its function-local names renamed, or None if it cannot be rewritten."""
    try:
        # ast's Load/Store/Del singletons are shared by every tree; once an IPython traceback has passed
        # through a library, they can carry a `parent` reaching a whole module: never copy them.
        memo: dict = {id(n): n for tree in cell.trees for n in ast.walk(tree) if isinstance(n, ast.expr_context)}
        trees = copy.deepcopy(cell.trees, memo)
        exempt = {id(memo[i]) for i in cell.exempt if i in memo}
        parts = []
        for tree in trees:
            tree = _DropMagics(exempt).visit(tree)
            _localize(tree, frozenset())
            parts.append(ast.unparse(ast.fix_missing_locations(tree)))
    except (RecursionError, ValueError, TypeError, AttributeError):  # e.g. nested too deeply to copy
        return None
    source = "\n".join(parts)
    if cell.trees and not Program([(source, cell.student)]).cells[0].trees:
        return None
    return source


def scoped(program: Program) -> Program:
    """The program with function-local names told apart from the notebook's globals (see above).
    A cell that cannot be rewritten keeps its code as written (the plain reading of it)."""
    if program not in _SCOPED:
        sources = []
        for cell in program.cells:
            source = _rewrite(cell)
            sources.append((cell.source if source is None else source, cell.student))
        _SCOPED[program] = Program(sources, latest=program.latest)
    return _SCOPED[program]


def _module_lookups(program: Program, answer: str) -> set[str]:
    """rules' findings for getattr(module, name) on the answer's own module parameter, which the
    probe hands in as a GRUWithoutForward (no attribute of it runs PyTorch's kernel; its forward
    raises): allowed when that parameter is never rebound, e.g. getattr(gru, f"{name}_l{k}", None).
    Identical text used on anything else keeps the finding."""
    def text(call):
        return f"{ast.unparse(call)[:60]} (a name the grader cannot read)"

    def lookups(node):
        for sub in ast.walk(node):
            if (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name)
                    and sub.func.id in ("getattr", "hasattr") and sub.args):
                yield sub

    ok, other = set(), set()
    fine_calls = set()
    for node, _ in program.definitions(answer):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or not node.args.args:
            continue
        param = node.args.args[0].arg
        first = node.args.args[0]
        rebound = any(
            (isinstance(sub, ast.Name) and sub.id == param and not isinstance(sub.ctx, ast.Load))
            or (isinstance(sub, ast.arg) and sub.arg == param and sub is not first)
            or (isinstance(sub, ast.alias) and (sub.asname or sub.name.split(".")[0]) == param)
            or (isinstance(sub, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and sub.name == param)
            or (isinstance(sub, (ast.Global, ast.Nonlocal)) and param in sub.names)
            for sub in ast.walk(node))
        if rebound:
            continue
        for call in lookups(node):
            if isinstance(call.args[0], ast.Name) and call.args[0].id == param:
                ok.add(text(call))
                fine_calls.add(id(call))
    for node in program.closure([answer]):
        for call in lookups(node):
            if id(call) not in fine_calls:
                other.add(text(call))
    return ok - other


def _scoped_reaches(program, answer: str, forbidden, module_param: bool = False, calls: bool = True) -> list[str]:
    """Program._reaches on the scoped program, in the student's own names."""
    local = scoped(program)
    found = local._reaches(answer, forbidden, module_param=module_param, calls=calls)
    if module_param:
        allowed = _module_lookups(local, answer)
        found = [f for f in found if f not in allowed]
    return sorted({f.replace(LOCAL, "") for f in found})


# ---- tampering -----------------------------------------------------------------------------------
def _module_of(node) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = ("." * node.level) + (node.module or "")
        return [base] + [f"{base}.{alias.name}" for alias in node.names]
    return []


def _module_names(program: Program) -> set[str]:
    """Names that stand for a module: bound by an import anywhere (locked cells too), ``checks`` and
    ``course``, and any student alias of one (``c = checks``, ``t = torch.testing``)."""
    modules = set(program.imported) | {"checks", "course"}
    while True:
        before = len(modules)
        for cell in program.cells:
            for node in cell.nodes():
                if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None \
                        and isinstance(node.value, (ast.Name, ast.Attribute)) and _root(node.value) in modules:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    modules |= {t.id for t in targets if isinstance(t, ast.Name)}
        if len(modules) == before:
            return modules


def tampering(program: Program) -> list[str]:
    """What in the student's cells touches the grader or cannot be read with confidence (one line
    each, with the cell number)."""
    found = []
    modules = _module_names(program)
    sensitive = DENIED_ATTRS | {"__"}
    from .core import REGISTRY
    for cell in program.cells:
        if not cell.student:
            continue
        where = f"cell {cell.index + 1}"

        def flag(node, what):
            found.append(f"{where}, line {getattr(node, 'lineno', '?')}: {what}")

        # the one honest use of `checks` in a student's cell: checks.<a registered check>(...)
        check_calls = {id(n.func.value) for n in cell.nodes()
                       if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                       and isinstance(n.func.value, ast.Name) and n.func.value.id == "checks"
                       and n.func.attr in REGISTRY}

        for node in cell.nodes():
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for mod in _module_of(node):
                    top = mod.lstrip(".").split(".")[0]
                    if top in DENIED_MODULES:
                        flag(node, f"imports {mod} ({DENIED_MODULES[top]})")
                    elif mod.startswith(DENIED_COURSE) or (mod.startswith("course.assignments.") and
                                                           _grader_part(mod.split(".")[-1])):
                        flag(node, f"imports the grader's internals ({mod})")
            elif isinstance(node, ast.Name):
                if node.id in DENIED_CALLS or node.id in ("__builtins__", "__loader__", "__spec__"):
                    flag(node, f"uses {node.id}")
                elif node.id == "checks" and id(node) not in check_calls:
                    flag(node, "uses the checks module other than to call a check")
            elif isinstance(node, ast.Attribute):
                attr = node.attr
                if attr.startswith("__") and attr.endswith("__") and attr not in ALLOWED_DUNDERS:
                    flag(node, f"reaches into {attr}")
                elif attr in DENIED_ATTRS:
                    flag(node, f"uses .{attr}")
                elif _grader_part(attr) and _root(node) in modules and _root(node) != "checks":
                    flag(node, f"reaches the grader's internals ({ast.unparse(node)[:60]})")
                if isinstance(node.ctx, (ast.Store, ast.Del)) and _root(node) in modules | BUILTIN_NAMES:
                    flag(node, f"changes {ast.unparse(node)} (patches a module)")
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
                if _root(node) in modules:
                    flag(node, f"changes {ast.unparse(node)[:60]} (patches a module)")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                name, args = node.func.id, node.args
                if name in ("setattr", "delattr") and args and _root(args[0]) != "self":
                    flag(node, f"{name}(...) on {ast.unparse(args[0])[:40]}")
                if name in ("getattr", "hasattr") and len(args) >= 2 and not _dynamic_name_safe(args[1], sensitive) \
                        and _root(args[0]) in modules:
                    flag(node, f"{ast.unparse(node)[:60]} (a name the grader cannot read)")
                if name == "getattr" and len(args) >= 2 and isinstance(args[1], ast.Constant):
                    value = str(args[1].value)
                    if value in DENIED_ATTRS or (value.startswith("__") and value not in ALLOWED_DUNDERS):
                        flag(node, f"uses .{value}")
                if name == "open":
                    mode = args[1] if len(args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
                    if mode is not None and not (isinstance(mode, ast.Constant) and isinstance(mode.value, str)
                                                 and not set(mode.value) & WRITE_MODES):
                        flag(node, "opens a file for writing")
    return sorted(set(found))

