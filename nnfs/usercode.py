"""Load a reader's functions from a .py file or an .ipynb notebook without running their script.

A reader's notebook reads ``/kaggle/input/...``, trains for minutes and plots at
top level. `load_user_code` runs none of that. It parses the source with `ast`
and keeps only

* imports of a small allow-list of modules (NumPy and the standard library's maths),
* function definitions whose default values are literals and that have no decorators,
* assignments of literal constants, such as ``alpha = 0.1`` or ``m = 42000``,

then compiles that filtered module and runs it in a fresh namespace: running it
only defines functions and constants. Everything else is listed as skipped, by
line, so the reader sees what was left out. The functions' *bodies* do run later,
when the checks call them: that is the point of checking them.

A bad file raises ``FileNotFoundError`` or ``ValueError`` naming the file, and the
line (and notebook cell) where relevant.
"""

import ast
import builtins
import json
from dataclasses import dataclass, field
from pathlib import Path

# Modules whose import runs no code of the reader's and touches no files.
SAFE_MODULES = ("numpy", "math", "cmath", "functools", "itertools", "operator", "typing", "__future__")


@dataclass
class UserCode:
    """What `load_user_code` found in a reader's file.

    ``namespace`` holds the defined functions and constants; ``functions`` maps each
    function's name to its line in ``source``; ``skipped`` lists one short
    description per statement that was not run; ``free_names`` maps each function
    to the global names it reads that nothing in the namespace defines.
    """

    path: Path
    source: str
    namespace: dict
    functions: dict
    skipped: list = field(default_factory=list)
    skipped_imports: list = field(default_factory=list)
    free_names: dict = field(default_factory=dict)
    cells: list = field(default_factory=list)  # notebooks: (first line in source, cell number)
    unsafe: dict = field(default_factory=dict)  # function name -> why it was not defined

    def where(self, line):
        """'line 12' for a .py file, 'cell 4, line 3' for a notebook."""
        return _where(self.cells, line)


def _where(cells, line):
    for first, number in reversed(cells):
        if line >= first:
            return f"cell {number}, line {line - first + 1}"
    return f"line {line}"


def _is_magic(line):
    """IPython magics and shell escapes: `%matplotlib inline`, `!pip install x`, `%%time`."""
    stripped = line.lstrip()
    return stripped.startswith(("%", "!"))


def read_source(path):
    """The Python text of a .py file, or of a notebook's code cells joined in order.

    Returns (source, cells) where cells lists (first line, cell number) per code
    cell (empty for a .py file). Magic lines become comments, so line numbers keep.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give a .py file or an .ipynb notebook")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start}); give a .py file or an .ipynb notebook") from None
    if path.suffix.lower() != ".ipynb":
        return text, []
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not a notebook: invalid JSON at line {err.lineno}, column {err.colno}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"{path}: not a notebook: no 'cells' list")
    lines, cells = [], []
    for number, cell in enumerate(notebook["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        body = cell.get("source", "")
        body = "".join(body) if isinstance(body, list) else str(body)
        cells.append((len(lines) + 1, number))
        lines.extend("# " + line if _is_magic(line) else line for line in body.splitlines())
        lines.append("")  # a blank line between cells
    return "\n".join(lines) + "\n", cells


def _is_literal(node):
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _import_roots(node):
    if isinstance(node, ast.Import):
        return [alias.name.split(".")[0] for alias in node.names]
    return [(node.module or "").split(".")[0]] if node.level == 0 else [""]


def _describe(node):
    """A few words for a skipped top-level statement."""
    kinds = {ast.Expr: "expression", ast.For: "for loop", ast.While: "while loop", ast.If: "if block",
             ast.With: "with block", ast.Try: "try block", ast.ClassDef: "class", ast.AugAssign: "assignment",
             ast.Assign: "assignment", ast.AnnAssign: "assignment", ast.AsyncFunctionDef: "async function"}
    kind = kinds.get(type(node), type(node).__name__.lower())
    text = ast.unparse(node).splitlines()[0]
    return f"{kind}: {text if len(text) <= 60 else text[:57] + '...'}"


def _is_dotted_name(node):
    """`np.float64`, `alpha`: looking a name up runs no code of the reader's (no calls, no operators)."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _function_is_safe(node):
    """A def runs its decorators and its default values when it is defined: allow literals and names only."""
    if node.decorator_list:
        return False, "has decorators"
    defaults = [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]
    if not all(_is_literal(d) or _is_dotted_name(d) for d in defaults):
        return False, "has a default value that is not a literal or a name"
    return True, ""


def _strip_annotations(node):
    """Annotations are evaluated at definition time too: drop them (they change nothing)."""
    node.returns = None
    for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs, node.args.vararg, node.args.kwarg]:
        if arg is not None:
            arg.annotation = None


def _local_names(node):
    """Names a function binds: its arguments and whatever it assigns, imports or defines."""
    names = {a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
    names |= {a.arg for a in (node.args.vararg, node.args.kwarg) if a is not None}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)) and sub is not node:
            names.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in sub.names}
        elif isinstance(sub, ast.arg):
            names.add(sub.arg)  # lambdas and nested functions
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
    return names


def _free_names(node, defined):
    """Global names the function reads that neither it, the namespace nor builtins define."""
    local = _local_names(node)
    globals_declared = {n for sub in ast.walk(node) if isinstance(sub, ast.Global) for n in sub.names}
    loaded = {sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load)}
    free = (loaded - local) | (globals_declared & loaded)
    return sorted(n for n in free if n not in defined and not hasattr(builtins, n))


def load_user_code(path):
    """Parse `path`, keep its safe imports, functions and literal constants, and define them.

    Returns a `UserCode`. Raises FileNotFoundError or ValueError (syntax errors
    name the line, and the notebook cell) for a file that cannot be read.
    """
    path = Path(path)
    source, cells = read_source(path)
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as err:
        where = _where(cells, err.lineno or 1)
        raise ValueError(f"{path}: {where}: syntax error: {err.msg}") from None

    kept, functions, skipped, skipped_imports, unsafe = [], {}, [], [], {}
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            roots = _import_roots(node)
            if all(root in SAFE_MODULES for root in roots):
                kept.append(node)
            else:
                skipped_imports.extend(r for r in roots if r not in SAFE_MODULES and r not in skipped_imports)
        elif isinstance(node, ast.FunctionDef):
            safe, why = _function_is_safe(node)
            if safe:
                _strip_annotations(node)
                kept.append(node)
                functions[node.name] = node.lineno
                unsafe.pop(node.name, None)
            else:
                unsafe[node.name] = why
                functions.pop(node.name, None)  # a later unsafe def replaces an earlier one
                skipped.append((node.lineno, f"function {node.name}: {why}"))
        elif (isinstance(node, ast.Assign) and _is_literal(node.value)
              and all(isinstance(t, ast.Name) for t in node.targets)):
            kept.append(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) \
                and node.value is not None and _is_literal(node.value):
            kept.append(ast.Assign(targets=[node.target], value=node.value, lineno=node.lineno))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring or a bare string: nothing to run
        else:
            skipped.append((node.lineno, _describe(node)))

    module = ast.fix_missing_locations(ast.Module(body=kept, type_ignores=[]))
    namespace = {"__name__": "__nnfs_check__", "__builtins__": builtins}
    exec(compile(module, str(path), "exec"), namespace)  # defines functions and constants only

    defined = set(namespace)
    free = {}
    for node in kept:
        if isinstance(node, ast.FunctionDef) and node.name in functions and functions[node.name] == node.lineno:
            names = _free_names(node, defined)
            if names:
                free[node.name] = names
    return UserCode(path, source, namespace, functions, [f"{_where(cells, line)}: {text}" for line, text in skipped],
                    skipped_imports, free, cells, unsafe)
