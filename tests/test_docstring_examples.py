"""Docstring examples skip consistently (the suite does not run doctests; this keeps them
runnable the day someone does).

An example that needs files, a cluster or the network carries ``# doctest: +SKIP``; every
example after it in the same docstring must carry it too, since it uses what the skipped
line made (``>>> st = col.get_stamps(...)  # doctest: +SKIP`` then ``>>> st.show()`` would
run, and fail, on its own).  A directive on any line of a multi-line example covers the
whole example.
"""

import doctest
import importlib
import pkgutil

import ztfimg

_SKIP = doctest.OPTIONFLAGS_BY_NAME["SKIP"]

#: Docstrings still to fix (each must still break the rule: the test says so once it is
#: fixed, so that it is dropped from here).
_PENDING = set()


def _unskipped_after_a_skip():
    """{docstring name: [(line in the docstring, source)]} of the examples that break the rule."""
    out = {}
    finder = doctest.DocTestFinder(exclude_empty=True)
    for info in pkgutil.walk_packages(ztfimg.__path__, "ztfimg."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for test in finder.find(module):
            flags = [ex.options.get(_SKIP, False) for ex in test.examples]
            if True not in flags:
                continue
            first = flags.index(True)
            bad = [(ex.lineno + 1, ex.source.strip()[:60])
                   for ex, skipped in zip(test.examples[first:], flags[first:]) if not skipped]
            if bad and test.name not in out:
                out[test.name] = bad
    return out


def test_examples_after_a_skipped_one_are_skipped():
    found = _unskipped_after_a_skip()
    new = {k: v for k, v in found.items() if k not in _PENDING}
    assert not new, ("examples that run although an earlier example of their docstring is "
                     "skipped (add '# doctest: +SKIP' or make them runnable):\n  "
                     + "\n  ".join(f"{k}: {v}" for k, v in sorted(new.items())))
    fixed = sorted(_PENDING - set(found))
    assert not fixed, f"fixed, remove from _PENDING in {__file__}: {fixed}"


def test_the_rule_sees_a_half_skipped_example():
    parser = doctest.DocTestParser()
    text = (">>> st = col.get_stamps(1.0, 2.0)   # doctest: +SKIP\n>>> st.show()\n"
            ">>> x = 1\n")
    examples = parser.get_examples(text)
    assert [ex.options.get(_SKIP, False) for ex in examples] == [True, False, False]
    multi = parser.get_examples(">>> f(1,   # doctest: +SKIP\n...   2)\n")
    assert multi[0].options.get(_SKIP) is True      # one directive covers the whole example
