"""Hostile catalogs (issue 13 item 6): every one gets ``file:line: …`` errors, under a 1 GB
address-space limit, in a child process that neither crashes nor runs away.

The corpus and the runner are in ``hostile_catalogs.py`` (run it to print each error).
"""

import re

import pytest

from hostile_catalogs import CORPUS, load_limited, write_corpus

LEGITIMATE = {"10 MB string"}     # large but fine: it loads


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    paths = write_corpus(tmp_path_factory.mktemp("hostile"))
    results = load_limited(list(paths.values()), memory_mb=1024)
    return {name: (path, results[str(path)]) for name, path in paths.items()}


@pytest.mark.parametrize("name", sorted(set(CORPUS) - LEGITIMATE))
def test_refused_with_file_and_line(runs, name):
    path, run = runs[name]
    assert run["outcome"] == "CatalogErrors", run["text"]
    for line in run["text"].splitlines():
        assert re.match(rf"{re.escape(str(path))}:\d+: ", line), line


def test_expected_reasons(runs):
    """The errors say what was wrong (not only that something was)."""
    reason = {name: run["text"] for name, (_, run) in runs.items()}
    assert "aliases" in reason["billion laughs at top level"]
    assert "contains it" in reason["recursive anchor (sequence)"]
    assert "integer of 5000 characters" in reason["5000-digit integer as quality"]
    assert "nested more than" in reason["deep nesting (flow)"]
    assert "not UTF-8" in reason["not UTF-8"]
    assert "only in case" in reason["ids differing only in case"]
    assert "Int32" in reason["unplayedItemCount beyond Int32"]
    assert "more than 1000 values" in reason["huge unplayedCount range"]


def test_large_legitimate_catalog_loads(runs):
    assert runs["10 MB string"][1]["outcome"] == "loaded"
