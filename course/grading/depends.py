"""Which cells a grade needs: a conservative dependency analysis of a notebook's source.

The sealed executor always runs answer cells (the student's code) and test cells (judged by the
parent). Every other cell - the course's demonstrations, plots, practice questions, a student's
scratch cells - runs only if a later cell that runs may depend on it: it defines or may change a name
such a cell reads, it sets library-wide state (a ``set_*`` call, an attribute of a module), or it
draws from the random generator a later cell draws from without re-seeding. Everything is decided
here, from source text, in the trusted parent; when in doubt a cell runs, and a notebook the
analysis cannot read (magics, ``exec``, ``globals()``, ``global`` statements, ``import *``) runs
whole.

Names are grouped by what may alias what (``a = b.layer`` or ``f(a, b)`` may let a change through
one reach the other; a function reaches the globals its body reads). A cell may change a group when it
passes one of its names to a function, calls a method on it, calls it, or stores into it; reading
(``x[0]``, ``x.shape``, ``print(x)``, ``len(x)``, ``x.sum()``, ``torch.cat([x, y])``) changes
nothing. A cell that may end or fork the kernel's process (``os._exit``, ``exit()``, ``raise
SystemExit``, a call into ``signal`` or ``subprocess``, or a function that makes one) always runs;
one that loops forever or exhausts memory, and that no grade needs, is not run and costs nothing.

Assumed, and checked by grading fixtures both ways: the builtins and methods in PURE_BUILTINS and PURE_METHODS, and functions of torch, numpy and math whose names do not end in
``_``, leave their arguments alone; iterating a value does not change it; calling a function or a
class (or what ``practice.working`` returns) does not change the function itself.
"""
from __future__ import annotations

import ast
import re
import symtable
from dataclasses import dataclass, field

STATE = "<library state>"
# Reading these hands a cell's code a way to reach names the analysis cannot see.
OPAQUE_NAMES = {"exec", "eval", "globals", "locals", "vars", "__import__", "get_ipython", "setattr",
                "delattr", "compile", "__builtins__", "__dict__", "sys"}
# Calls on a library that change state every later cell sees (threads, default dtype, grad mode,
# warnings filters, matplotlib's rc, deterministic algorithms...).
PURE_BUILTINS = {"print", "len", "int", "float", "str", "bool", "repr", "isinstance", "issubclass",
                 "type", "round", "abs", "format", "hash", "id", "sorted", "list", "tuple", "set",
                 "frozenset", "dict", "sum", "min", "max", "any", "all", "enumerate", "zip", "range",
                 "divmod", "pow", "chr", "ord", "callable", "hasattr", "getattr", "reversed"}
PURE_METHODS = {"tolist", "item", "numpy", "size", "dim", "numel", "detach", "clone", "cpu", "view",
                "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "contiguous",
                "softmax", "log_softmax", "exp", "log", "tanh", "sigmoid", "relu", "abs", "sum", "mean",
                "std", "var", "max", "min", "argmax", "argmin", "eq", "ne", "lt", "gt", "le", "ge", "all",
                "any", "nonzero", "norm", "matmul", "t", "allclose", "equal", "isclose", "long", "int",
                "bool", "keys", "values", "items", "get", "copy", "count", "index", "format", "split",
                "join", "strip", "startswith", "endswith", "lower", "upper", "replace", "parameters",
                "named_parameters", "children", "named_children", "modules", "named_modules",
                "state_dict", "extra_repr", "chunk", "unbind", "flip", "cumsum", "round", "isnan",
                "topk", "expand", "expand_as", "repeat", "gather", "masked_fill", "split_with_sizes"}
PURE_LIBRARIES = {"torch", "numpy", "math"}
# Files written here may be read by a later cell: writing one is library-wide state.
WRITERS = {"open", "save", "savez", "savez_compressed", "savetxt", "dump", "write", "write_text",
           "write_bytes", "to_csv", "mkdir", "makedirs", "rename", "replace_file", "unlink", "remove",
           "rmtree", "copy", "copyfile", "copytree", "move", "savefig", "touch", "symlink_to"}
# Calls that may end, stop or multiply the kernel's process: a cell making one always runs (run in
# full, a notebook that kills its kernel loses every later cell; skipping the cell must not undo that).
PROCESS_LIBRARIES = {"os", "signal", "subprocess", "ctypes", "multiprocessing", "threading", "_thread",
                     "resource", "posix", "pty", "faulthandler", "atexit", "concurrent", "asyncio", "pdb"}
PROCESS_BUILTINS = {"exit", "quit", "breakpoint", "input"}
PROCESS_EXCEPTIONS = {"SystemExit", "KeyboardInterrupt", "BaseException", "GeneratorExit"}
STATE_CALL = re.compile(r"^(set_\w+|use_\w+|use|filterwarnings|simplefilter|resetwarnings|rc|"
                        r"rcdefaults|disable|enable|setrecursionlimit)$")


@dataclass
class Cell:
    """One code cell as the analysis sees it."""
    kind: str                      # "answer" | "test" | "other"
    defines: set = field(default_factory=set)
    uses: set = field(default_factory=set)
    kills: set = field(default_factory=set)   # names (re)bound before any read: older values are dead
    needs: set = field(default_factory=set)   # what the cell reads from before it: uses - kills
    touches: set = field(default_factory=set)  # names it may change: passed on, method-called, called
    links: list = field(default_factory=list)  # (is_def, names): names that may alias one another
    opaque: str = ""
    ends: str = ""                 # why it may end the kernel's process (then it always runs)
    risky_defs: dict = field(default_factory=dict)  # def name -> (may end the process?, names its body reads)


def _process_call(node, imported: dict) -> str:
    """The first call (or raise) under ``node`` that may end, stop or fork the process, as text."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Raise) and sub.exc is not None:
            exc = sub.exc.func if isinstance(sub.exc, ast.Call) else sub.exc
            if isinstance(exc, ast.Name) and exc.id in PROCESS_EXCEPTIONS:
                return f"raise {exc.id}"
        if not isinstance(sub, ast.Call):
            continue
        root, last = _callee(sub)
        if root in PROCESS_BUILTINS and root not in imported and root == last:
            return f"{root}()"
        if imported.get(root) in PROCESS_LIBRARIES:
            dotted = ast.unparse(sub.func)
            if not re.match(r"(\w+\.)?(path\.|environ\.get$|getcwd$|getenv$|cpu_count$|getpid$|sep$)", dotted) \
                    or imported.get(root) != "os":
                return f"{dotted}()"
    return ""


def _callee(call: ast.Call) -> tuple[str, str]:
    """(root name, last attribute) of ``a.b.c(...)``; ("", "") when not a plain dotted call."""
    func, last = call.func, ""
    if isinstance(func, ast.Attribute):
        last = func.attr
    while isinstance(func, ast.Attribute):
        func = func.value
    return (func.id, last or func.id) if isinstance(func, ast.Name) else ("", "")


def _names(node) -> set:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _store_base(target) -> str:
    """``model.rnn.weight[0] = ...`` changes ``model``."""
    while isinstance(target, (ast.Attribute, ast.Subscript, ast.Starred)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else ""


def _executed_calls(stmt) -> list:
    """Calls that run when the statement runs (not those inside a function or lambda body)."""
    calls, todo = [], [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Call):
            calls.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and child in node.body:
                continue
            if isinstance(node, ast.Lambda) and child is node.body:
                continue
            todo.append(child)
    return calls


def _touched(stmt, imported: dict) -> set:
    """Names a statement may change by passing them on, calling a method on them or calling them
    (function and lambda bodies are not run by the statement)."""
    out = set()
    for node in _executed_calls(stmt):
        func, args = node.func, node.args + [k.value for k in node.keywords]
        pure = False
        if isinstance(func, ast.Name):
            if func.id in PURE_BUILTINS and func.id not in imported:
                pure = True
            elif imported.get(func.id) in PURE_LIBRARIES and not func.id.endswith("_"):
                pure = True
            else:
                out.add(func.id)  # calling a value (a model) may change it
        elif isinstance(func, ast.Attribute):
            root = func.value
            while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
                root = root.func if isinstance(root, ast.Call) else root.value
            library = isinstance(root, ast.Name) and imported.get(root.id) in PURE_LIBRARIES
            if func.attr in PURE_METHODS or (library and not func.attr.endswith("_")):
                pure = not any(k.arg == "out" for k in node.keywords)
            else:
                out |= _names(func.value)  # the receiver, and whatever it hangs on
        if not pure:  # whatever an argument expression mentions may be handed over
            for arg in args:
                out |= _names(arg)
    return out


def analyse(source: str, kind: str, imported: dict | None = None) -> Cell:
    """What one cell defines, reads, may change and may link; ``imported`` = names the notebook binds
    only by import, with the top-level package each comes from."""
    cell = Cell(kind)
    if not source.strip():
        return cell
    if re.search(r"^\s*[%!]", source, re.M):
        cell.opaque = "an IPython magic or shell command"
        return cell
    try:
        tree = ast.parse(source)
        table = symtable.symtable(source, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return cell  # it cannot run, so it changes nothing; an answer cell still runs (and fails)
    imported = imported or {}

    # names read and bound, through every scope (a function reads the globals it does not bind)
    def walk(tab, top):
        for sym in tab.get_symbols():
            name = sym.get_name()
            if top:
                if sym.is_referenced():
                    cell.uses.add(name)
                if sym.is_assigned() or sym.is_imported():
                    cell.defines.add(name)
            elif sym.is_declared_global():
                cell.opaque = f"a global statement ({name})"
            elif sym.is_global() and sym.is_referenced():
                cell.uses.add(name)
        for child in tab.get_children():
            walk(child, False)
    walk(table, True)
    every = _names(tree)
    if every & OPAQUE_NAMES or any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names)
                                   for n in ast.walk(tree)):
        cell.opaque = cell.opaque or "exec, eval, globals() or import *"
        return cell

    read = set()
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            cell.risky_defs[stmt.name] = (bool(_process_call(stmt, imported)), _names(stmt) - {stmt.name})
        else:
            cell.ends = cell.ends or _process_call(stmt, imported)
        # a changed attribute or item changes the object it hangs on
        for node in ast.walk(stmt):
            targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete)) else
                       [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.For)) else
                       [i.optional_vars for i in node.items if i.optional_vars is not None]
                       if isinstance(node, ast.With) else [])
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, (ast.Attribute, ast.Subscript)):
                        base = _store_base(part)
                        if base:
                            cell.defines.add(base)
                            if base in imported:
                                cell.defines.add(STATE)
        calls = _executed_calls(stmt)
        for call in calls:
            root, last = _callee(call)
            if (root in imported and STATE_CALL.match(last)) or last in WRITERS:
                cell.defines.add(STATE)
        cell.touches |= _touched(stmt, imported)
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.Call) and _callee(stmt.value)[1] == "working"):
            # calling what practice.working hands back reaches what the answer it wraps reaches
            cell.links.append((True, {stmt.targets[0].id} | _names(stmt.value)))
        # plain rebinding before any read of the name: what an earlier cell left there is dead
        bound = set()
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and getattr(stmt, "value", None) is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                for part in ([t] if isinstance(t, ast.Name) else t.elts if isinstance(t, (ast.Tuple, ast.List))
                             else []):
                    if isinstance(part, ast.Name):
                        bound.add(part.id)
            bound -= _names(stmt.value)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound = {stmt.name} - {n for d in stmt.decorator_list for n in _names(d)}
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name).split(".")[0] for a in stmt.names}
        elif (isinstance(stmt, ast.For) and isinstance(stmt.iter, (ast.Tuple, ast.List)) and stmt.iter.elts
              and not stmt.orelse):  # a non-empty literal: the loop variable is always bound first
            bound = {n.id for n in ast.walk(stmt.target) if isinstance(n, ast.Name)} - _names(stmt.iter)
        cell.kills |= bound - read
        stmt_names = _names(stmt)
        read |= stmt_names
        # whatever one statement mentions may end up holding or changing the rest
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            free = set()
            for sub in table.get_children():
                if sub.get_name() == stmt.name:
                    free |= {s.get_name() for s in sub.get_symbols() if s.is_global()}
            cell.links.append((True, {stmt.name} | free))
        else:
            cell.links.append((False, stmt_names))
    cell.needs = cell.uses - cell.kills
    return cell


@dataclass
class Plan:
    run: set                     # indices (into the list given) of the cells to run
    skipped: list                # indices not run
    opaque: str = ""             # why everything runs, when it does
    why: dict = field(default_factory=dict)   # index -> why it runs


class _Groups:
    def __init__(self):
        self.parent = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, names):
        names = list(names)
        for other in names[1:]:
            self.parent[self.find(other)] = self.find(names[0])


def plan(cells: list[tuple[str, str]]) -> Plan:
    """``cells``: (kind, source) of every code cell in order; kind "answer", "test" or "other"
    (a test cell's source is its trusted source). Which must run for the grade to be the same as
    running all of them."""
    imports, assigned, defs, made = {}, set(), set(), set()
    for _, source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        by_working = set()  # the Name nodes of `x = practice.working(...)`
        for node in ast.walk(tree):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Call) and _callee(node.value)[1] == "working"):
                by_working.add(id(node.targets[0]))
                made.add(node.targets[0].id)
        for node in ast.walk(tree):
            if id(node) in by_working:
                continue
            if isinstance(node, ast.Import):
                imports.update({(a.asname or a.name).split(".")[0]: a.name.split(".")[0] for a in node.names})
            elif isinstance(node, ast.ImportFrom):
                imports.update({(a.asname or a.name): (node.module or "").split(".")[0] for a in node.names})
            elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                assigned.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defs.add(node.name)
    imported = {k: v for k, v in imports.items() if k not in assigned | defs | made}
    info = [analyse(src, kind, imported) for kind, src in cells]
    # functions and classes do not hold their callers' arguments: calling run_fit on two models
    # does not tie them together (what a function may change is linked at its def: its globals);
    # practice.working hands back the student's function or class, or the course's
    callables = (defs | made) - assigned - set(imports)
    opaque = next((c.opaque for c in info if c.opaque), "")
    if opaque:
        return Plan(set(range(len(cells))), [], opaque)

    ours = set().union(*(c.defines for c in info)) - set(imported) if info else set()
    groups = _Groups()
    for c in info:
        for is_def, link in c.links:
            linked = link & ours if is_def else link & ours - callables
            if linked:
                groups.union(linked)

    def reach(names):
        """Names a cell mentioning ``names`` may change: their whole alias groups."""
        roots = {groups.find(n) for n in names & ours}
        return {n for n in ours if groups.find(n) in roots} | (names & {STATE})

    # functions that may end the process, directly or through another such function
    bodies = {name: d for c in info for name, d in c.risky_defs.items()}
    risky = {name for name, (ends, _) in bodies.items() if ends}
    grown = True
    while grown:
        more = {name for name, (_, reads) in bodies.items() if reads & risky} - risky
        risky |= more
        grown = bool(more)

    needed, run, why = {}, set(), {}   # needed: name -> the cell that reads it
    for i in range(len(info) - 1, -1, -1):
        c = info[i]
        calls_risky = sorted(c.touches & risky)
        # mentioning a function or class (calling it, passing it on) changes what its body may
        # change, not the function itself: only a def, a rebinding or an attribute store does
        changes = (reach(c.touches | c.defines) - callables) | c.defines
        hit = sorted(changes & needed.keys())
        if c.kind in ("answer", "test"):
            why[i] = c.kind
        elif c.ends or calls_risky:
            why[i] = f"it may end the kernel ({c.ends or calls_risky[0] + '()'})"
        elif hit:
            why[i] = f"cell {needed[hit[0]]} reads {hit[0]}"
        else:
            continue
        run.add(i)
        for name in c.kills:
            needed.pop(name, None)
        for name in c.needs | {STATE}:
            needed[name] = i
    return Plan(run, [i for i in range(len(info)) if i not in run], why=why)
