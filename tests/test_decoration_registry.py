"""The registry of decoration parameters (pipeline/model/decoration.py DECORATION_PARAMETERS)
and what is generated from it: query parsing, settings, selection, nginx maps, drawers."""

import dataclasses
import subprocess
import sys

import pytest

from pipeline.catalog.settings import DECORATION_KEYS, SETTING_READERS
from pipeline.hosting.nginx import DECORATION_CHECKS, DECORATION_UNCHECKED, decoration_maps
from pipeline.imaging.overlays import DRAWERS
from pipeline.model.decoration import (DECORATION_PARAMETERS, QUERY_PARSERS, Decoration, DecorationParameter,
                                       parse_query_decorations)
from pipeline.serve.request import DECORATIONS, BadRequest, parse
from pipeline.serve.selection import match_decoration

from conftest import ROOT


def test_every_parameter_is_a_decoration_field_and_every_field_a_parameter():
    assert [p.field for p in DECORATION_PARAMETERS] == [f.name for f in dataclasses.fields(Decoration)]


@pytest.mark.parametrize("p", DECORATION_PARAMETERS, ids=lambda p: p.name)
def test_every_parameter_has_a_drawer_and_parsers(p):
    assert p.name in DRAWERS, f"{p.name}: add its drawer to pipeline/imaging/overlays.py DRAWERS"
    assert p.type in QUERY_PARSERS and p.type in SETTING_READERS
    assert p.type in DECORATION_CHECKS + DECORATION_UNCHECKED
    assert p.match in ("exact", "nearest")


def test_every_drawer_has_a_parameter():
    assert set(DRAWERS) == {p.name for p in DECORATION_PARAMETERS}


def test_generated_name_lists_follow_the_registry():
    names = tuple(p.name for p in DECORATION_PARAMETERS)
    assert DECORATIONS == names and DECORATION_KEYS == names
    assert [d["name"] for d in decoration_maps()["decorations"]] == list(names)


@pytest.mark.parametrize("spelling", ["PercentPlayed", "percentplayed", "PERCENTPLAYED"])
def test_emby_spellings_are_read(spelling):
    request = parse("/Items/x/Images/Primary", [(spelling, "47")])
    assert request.decorations == {"percentPlayed": "47"}
    assert request.decoration == Decoration(percent_played=47)


def test_query_errors_name_the_parameter():
    with pytest.raises(ValueError, match="^blur must be an integer"):
        parse_query_decorations({"blur": "x"})
    with pytest.raises(BadRequest, match="^backgroundColor: "):
        parse("/Items/x/Images/Primary", [("backgroundColor", "#12")])


def test_nearest_follows_the_registry():
    nearest = [p.field for p in DECORATION_PARAMETERS if p.match == "nearest"]
    assert nearest == ["percent_played"]
    steps = [Decoration(percent_played=40, blur=5), Decoration(percent_played=60, blur=5), Decoration(blur=6)]
    assert match_decoration(steps, Decoration(percent_played=50, blur=5)) == steps[0]   # tie → lower
    assert match_decoration(steps, Decoration(blur=5)) is None                            # exact only
    assert match_decoration(steps, Decoration(percent_played=50, blur=6)) is None


def test_nginx_refuses_what_it_cannot_check():
    odd = dataclasses.replace(DECORATION_PARAMETERS[0], type="duration")
    with pytest.raises(ValueError, match="no nginx check"):
        decoration_maps((odd,))
    alias = dataclasses.replace(DECORATION_PARAMETERS[0], aliases=("pp",))
    with pytest.raises(ValueError, match="case variants"):
        decoration_maps((alias,))
    assert isinstance(odd, DecorationParameter)


def test_serve_side_imports_no_pillow():
    """Parsing a hex backgroundColor and routing load no Pillow module (colors imports
    ``PIL.ImageColor`` only for CSS forms)."""
    code = ("import sys; from pipeline.serve.request import parse; import pipeline.serve.routes, "
            "pipeline.serve.selection; parse('/Items/x/Images/Primary', [('backgroundColor', '#80ff0000')]); "
            "print(sorted(m for m in sys.modules if m == 'PIL' or m.startswith('PIL.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
