"""The layer rule of docs/DESIGN.md, checked on the source: imports point down only.

Every module under ``ztfimg/`` (recursively) is parsed with :mod:`ast` (nothing is imported)
and each of its imports of a ztfimg module (absolute ``ztfimg.x``, relative ``.x``/``..x``
resolved against the module's own package, ``from ztfimg import Name`` through the lazy
table of ``ztfimg/__init__.py``, ``importlib.import_module("ztfimg.x")`` with a literal
name) must target a module of the importer's layer or below.

The one exception (DESIGN.md: "A convenience method on an object may call down into level 3
through one labelled local import"): an import inside a function body whose line carries the
marker ``# facade: level 3`` may import a level-3 module.

A module that is in no layer fails the test: give it one in ``LAYERS`` (a subpackage entry
covers all its modules). A second test keeps every module at most ``MAX_LINES`` long.
"""

import ast
import pathlib

PACKAGE = "ztfimg"
ROOT = pathlib.Path(__file__).resolve().parents[1] / PACKAGE
MAX_LINES = 800
FACADE_MARKER = "# facade: level 3"

#: Layer of each module, path relative to ztfimg (dotted); a subpackage entry covers all
#: its modules. Entries for modules that do not exist (yet) are harmless.
LAYERS = {
    # 0: no ztfimg dependencies
    "errors": 0,
    "__init__": 0,  # the lazy top-level API (exempt from the check)
    "__main__": 0,  # exempt
    # 1: array level, no state
    "bitmask": 1, "filenames": 1, "filters": 1, "flags": 1, "validation": 1,
    "photometry": 1, "background": 1, "sources": 1, "aperture": 1, "apcor": 1, "psfphot": 1,
    "stamps": 1, "dao": 1, "plotting": 1, "zeropoint": 1, "datasets": 1, "fitsio": 1,
    "header": 1, "overlap": 1, "_ckernel": 1, "_npkernels": 1, "matching": 1, "psfdiff": 1,
    "calibframes": 1,
    # 2: objects
    "image": 2, "products": 2, "catalog": 2, "refcat": 2, "alerts": 2, "archive": 2,
    # 3: orchestration
    "workflows": 3, "simulate": 3, "simseries": 3, "cli": 3, "collection": 3,
    "lightcurves": 3, "simtransient": 3, "astrometry": 3, "stacking": 3, "simraw": 3,
}
#: Modules whose own imports are not checked (they may import anything).
EXEMPT = {"__init__", "__main__"}
LAYER_NAMES = {0: "0 (base)", 1: "1 (array level)", 2: "2 (objects)", 3: "3 (orchestration)"}


# ------------------------------------------------------------------------------ helpers
def module_files(root=ROOT):
    """{dotted name relative to ztfimg: path} of every .py file under ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if "__pycache__" in rel.parts:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]  # ztfimg/dao/__init__.py is the module "dao"
        elif (path.with_suffix("") / "__init__.py").exists():
            continue  # x.py next to the package x/: never imported (see shadowed_modules)
        out[".".join(parts)] = path
    return out


def shadowed_modules(root=ROOT):
    """Messages for each ``x.py`` that has a directory ``x/`` of modules beside it."""
    out = []
    for path in sorted(root.rglob("*.py")):
        pkg = path.with_suffix("")
        if "__pycache__" in path.parts or path.name == "__init__.py" or not pkg.is_dir():
            continue
        if not any(pkg.glob("*.py")):
            continue
        rel, relpkg = path.relative_to(root.parent), pkg.relative_to(root.parent)
        if (pkg / "__init__.py").exists():
            out.append(f"{rel}: shadowed by the package {relpkg}/ (Python imports the "
                       f"package; the module is dead code): remove one of them")
        else:
            out.append(f"{rel} and the directory {relpkg}/ (no __init__.py) both exist: Python "
                       f"imports {rel}, so the modules in {relpkg}/ are not importable as "
                       f"{PACKAGE}.{'.'.join(pkg.relative_to(root).parts)}.*: finish the move")
    return out


def layer_of(name, layers=LAYERS):
    """Layer of a dotted module name (relative to ztfimg): its longest entry in ``layers``."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        key = ".".join(parts[:n])
        if key in layers:
            return layers[key]
    return None


def _is_package(path):
    return path.name == "__init__.py"


def lazy_table(init_path=ROOT / "__init__.py"):
    """``_LAZY`` of ztfimg/__init__.py: {public name: 'ztfimg.module'}, read with ast."""
    try:
        tree = ast.parse(init_path.read_text())
    except (OSError, SyntaxError):
        return {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == "_LAZY" for t in targets):
            try:
                return ast.literal_eval(node.value)
            except ValueError:
                return {}
    return {}


def _strip_package(dotted):
    """'ztfimg.a.b' -> 'a.b'; 'ztfimg' -> '__init__'; other packages -> None."""
    if dotted == PACKAGE:
        return "__init__"
    if dotted.startswith(PACKAGE + "."):
        return dotted[len(PACKAGE) + 1:]
    return None


def ztfimg_imports(source, name, is_package, lazy=None, modules=None):
    """Yield (line, target, in_function, line_text) for each import of a ztfimg module.

    ``name`` is the importer's dotted name relative to ztfimg, ``is_package`` whether it is
    a package ``__init__``; ``target`` is dotted relative to ztfimg ('__init__' for the
    top-level package itself). ``lazy``: the lazy table of the top-level package;
    ``modules``: the dotted names of the existing modules (default: those under ztfimg/).
    """
    lazy = lazy_table() if lazy is None else lazy
    modules = set(module_files()) if modules is None else modules
    tree = ast.parse(source)
    lines = source.splitlines()
    # the importer's package, as a list of dotted parts from the top ("ztfimg", ...)
    own = [PACKAGE] + ([] if name == "__init__" else name.split("."))
    package = own if is_package or name == "__init__" else own[:-1]

    def text(node):
        end = getattr(node, "end_lineno", node.lineno) or node.lineno
        return "\n".join(lines[node.lineno - 1:end])

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                       ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = _strip_package(alias.name)
                    if target is not None:
                        yield child.lineno, target, in_function, text(child)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    if child.level > len(package):
                        raise ValueError(f"{name}:{child.lineno}: relative import beyond the "
                                         f"top-level package")
                    base = package[:len(package) - child.level + 1]
                    base = ".".join(base + ([child.module] if child.module else []))
                else:
                    base = child.module or ""
                stripped = _strip_package(base)
                if stripped is None:
                    continue
                for alias in child.names:
                    if stripped == "__init__":
                        # from ztfimg import x: a submodule, a lazy public name, or the API
                        if alias.name in lazy:
                            target = _strip_package(lazy[alias.name]) or "__init__"
                        elif layer_of(alias.name) is not None or alias.name in modules:
                            target = alias.name
                        else:
                            target = "__init__"
                    else:
                        sub = f"{stripped}.{alias.name}"
                        target = sub if sub in modules else stripped
                    yield child.lineno, target, in_function, text(child)
            elif isinstance(child, ast.Call):
                func = child.func
                fname = func.attr if isinstance(func, ast.Attribute) else (
                    func.id if isinstance(func, ast.Name) else None)
                if (fname in ("import_module", "__import__") and child.args
                        and isinstance(child.args[0], ast.Constant)
                        and isinstance(child.args[0].value, str)):
                    target = _strip_package(child.args[0].value)
                    if target is not None:
                        yield child.lineno, target, in_function, text(child)
            yield from visit(child, inside)

    yield from visit(tree, False)


def layer_violations(root=ROOT, layers=LAYERS):
    """Problems as readable strings: unassigned modules, unparsable ones, upward imports."""
    files = module_files(root)
    modules = set(files)
    lazy = lazy_table(root / "__init__.py")
    problems = shadowed_modules(root)
    for name, path in sorted(files.items()):
        rel = path.relative_to(root.parent)
        own = layer_of(name, layers)
        if own is None:
            problems.append(f"{rel}: module '{PACKAGE}.{name}' has no layer; assign it one in "
                            f"LAYERS of tests/test_layers.py (0 base, 1 array level, "
                            f"2 objects, 3 orchestration; see docs/DESIGN.md)")
            continue
        if name in EXEMPT:
            continue
        try:
            source = path.read_text()
            found = list(ztfimg_imports(source, name, _is_package(path), lazy, modules))
        except (OSError, SyntaxError, ValueError) as exc:
            problems.append(f"{rel}: cannot be parsed ({type(exc).__name__}: {exc})")
            continue
        for line, target, in_function, text in found:
            tlayer = layer_of(target, layers)
            shown = PACKAGE if target == "__init__" else f"{PACKAGE}.{target}"
            if tlayer is None:
                problems.append(f"{rel}:{line}: imports '{shown}', which is in no layer "
                                f"(not in LAYERS): {text.strip()!r}")
                continue
            if tlayer <= own:
                continue
            facade = FACADE_MARKER in text
            if facade and in_function and tlayer == 3:
                continue
            why = ""
            if facade and not in_function:
                why = f" (the '{FACADE_MARKER}' marker is allowed only inside a function body)"
            elif facade:
                why = f" (the '{FACADE_MARKER}' marker allows level-3 targets only)"
            elif in_function and tlayer == 3:
                why = (f" (a local facade import of level 3 must carry the marker "
                       f"'{FACADE_MARKER}' on its line)")
            problems.append(
                f"{rel}:{line}: '{PACKAGE}.{name}' (layer {LAYER_NAMES.get(own, own)}) imports "
                f"'{shown}' (layer {LAYER_NAMES.get(tlayer, tlayer)}), a layer above its own"
                f"{why}: {text.strip()!r}")
    return problems


# ------------------------------------------------------------------------------ tests
def test_imports_point_down():
    assert module_files(), f"no modules found under {ROOT}"
    problems = layer_violations()
    assert not problems, (f"{len(problems)} layer problem(s) (docs/DESIGN.md: imports point "
                          f"down only):\n  " + "\n  ".join(problems))


def test_module_size():
    too_long = []
    for path in sorted(ROOT.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        n = len(path.read_text().splitlines())
        if n > MAX_LINES:
            too_long.append(f"{path.relative_to(ROOT.parent)}: {n} lines (> {MAX_LINES}); "
                            f"split it by concept (a subpackage if it needs several modules)")
    assert not too_long, ("module(s) over the size limit (docs/DESIGN.md: one concept per "
                          "module, a few hundred lines):\n  " + "\n  ".join(too_long))


def test_import_resolution():
    """The checker itself: relative imports in subpackages, lazy names, calls, locals."""
    lazy = {"ScienceImage": "ztfimg.image"}
    modules = {"errors", "image", "catalog", "simulate", "cli", "stamps", "dao", "dao.model"}

    def targets(src, name, is_package=False):
        return [(t, f) for _, t, f, _ in ztfimg_imports(src, name, is_package, lazy, modules)]

    assert targets("from . import errors\nfrom .image import X\n", "sources") == [
        ("errors", False), ("image", False)]
    # a module of a subpackage: '.' is the subpackage, '..' is ztfimg
    assert targets("from .model import M\nfrom . import model\nfrom .. import image\n"
                   "from ..errors import E\n", "dao.reader") == [
        ("dao.model", False), ("dao.model", False), ("image", False), ("errors", False)]
    # a subpackage __init__: '.' is the subpackage itself
    assert targets("from .reader import R\nfrom ..image import I\n", "dao", is_package=True) == [
        ("dao.reader", False), ("image", False)]
    assert targets("from ztfimg import ScienceImage, errors\nimport ztfimg.catalog\n"
                   "def f():\n    from ztfimg.simulate import s\n", "bitmask") == [
        ("image", False), ("errors", False), ("catalog", False), ("simulate", True)]
    assert targets("import importlib\nimportlib.import_module('ztfimg.cli')\n", "stamps") == [
        ("cli", False)]
    assert targets("import numpy\nfrom astropy.io import fits\n", "stamps") == []
    assert layer_of("dao.reader") == 1 and layer_of("image.core") == 2
    assert layer_of("image") == 2 and layer_of("nowhere") is None


def test_checker_reports(tmp_path):
    """On a fake package: an upward import, a facade, a misplaced marker, a new module."""
    root = tmp_path / PACKAGE
    (root / "dao").mkdir(parents=True)
    files = {
        "__init__.py": "_LAZY = {'ScienceImage': 'ztfimg.image'}\nfrom .image import X\n",
        "errors.py": "",
        "stamps.py": "from . import ScienceImage\n",                     # 1 -> 2 (lazy name)
        "dao/__init__.py": "from .reader import R\n",
        "dao/reader.py": "from .. import errors\nfrom ..catalog import C\n",  # 1 -> 2
        "catalog.py": "from . import errors\n",
        "image.py": ("from . import stamps\n"
                     "def f():\n    from . import simulate  # facade: level 3\n"   # allowed
                     "def g():\n    from .cli import main\n"                         # no marker
                     "from .workflows import w  # facade: level 3\n"),              # not local
        "simulate.py": "from .image import X\n",
        "newthing.py": "",
        "cli.py": "",
    }
    (root / "cli").mkdir()
    (root / "cli" / "main.py").write_text("")
    for rel, text in files.items():
        (root / rel).write_text(text)
    problems = layer_violations(root)
    joined = "\n".join(problems)
    assert len(problems) == 6, joined
    assert "ztfimg/cli.py and the directory ztfimg/cli/ (no __init__.py) both exist" in joined
    assert "ztfimg/newthing.py: module 'ztfimg.newthing' has no layer" in joined
    assert ("ztfimg/stamps.py:1: 'ztfimg.stamps' (layer 1 (array level)) imports 'ztfimg.image' "
            "(layer 2 (objects))") in joined
    assert "ztfimg/dao/reader.py:2: 'ztfimg.dao.reader' (layer 1 (array level)) imports " \
           "'ztfimg.catalog'" in joined
    assert "ztfimg/image.py:5: " in joined and "must carry the marker" in joined
    assert "ztfimg/image.py:6: " in joined and "only inside a function body" in joined
    assert "image.py:3" not in joined
