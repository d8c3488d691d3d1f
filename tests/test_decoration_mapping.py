"""Request → precomputed decoration mapping (issue #4): parsing and the nearest-step rule."""

import pytest

from pipeline.model.decoration import Decoration
from pipeline.model.derivative import Derivative
from pipeline.serve.request import BadRequest, parse
from pipeline.serve.selection import match_decoration, select
from pipeline.model.sizing import SizeRequest


def request(query: str):
    pairs = [tuple(p.split("=", 1)) for p in query.split("&") if p]
    return parse("/Items/x/Images/Primary", pairs)


@pytest.mark.parametrize("query,expected", [
    ("PercentPlayed=47", Decoration(percent_played=47)),
    ("percentPlayed=47&unplayedCount=3", Decoration(percent_played=47)),      # count ignored with percent
    ("UnplayedCount=3", Decoration(unplayed_count=3)),
    ("AddPlayedIndicator=true", Decoration(played=True)),
    ("addplayedindicator=FALSE", Decoration()),
    ("blur=10&foregroundLayer=0.4", Decoration(blur=10, foreground_layer=0.4)),
    ("foregroundLayer=yes", Decoration(foreground_layer=0.4)),                # Jellyfin: unparsable → 0.4
    ("backgroundColor=%23ff0000".replace("%23", "#"), Decoration(background_color=(255, 0, 0, 255))),
    ("backgroundColor=80ff0000", Decoration(background_color=(255, 0, 0, 128))),  # #aarrggbb, '#' optional
    ("backgroundColor=red", Decoration(background_color=(255, 0, 0, 255))),
    ("percentPlayed=0", Decoration()),
    ("percentPlayed=100", Decoration()),
    ("unplayedCount=-1", Decoration()),
])
def test_parse_decoration(query, expected):
    assert request(query).decoration == expected


@pytest.mark.parametrize("query", ["percentPlayed=abc", "percentPlayed=nan", "unplayedCount=2.5",
                                   "blur=x", "addPlayedIndicator=maybe", "backgroundColor=#12"])
def test_malformed_decoration_is_400(query):
    with pytest.raises(BadRequest):
        request(query)


def test_legacy_segments_carry_percent_and_count():
    route = parse("/Items/x/Images/Primary/0/abc/Jpg/320/0/47/0", [])
    assert route.decoration == Decoration(percent_played=47)
    route = parse("/Items/x/Images/Primary/0/abc/Jpg/320/0/0/5", [])
    assert route.decoration == Decoration(unplayed_count=5)


STEPS = [Decoration(percent_played=p) for p in (5, 10, 45, 50, 95)] + [Decoration(unplayed_count=3)]


@pytest.mark.parametrize("wanted,expected", [
    (Decoration(percent_played=47), Decoration(percent_played=45)),
    (Decoration(percent_played=47.5), Decoration(percent_played=45)),   # tie → the lower step
    (Decoration(percent_played=48), Decoration(percent_played=50)),
    (Decoration(percent_played=99), Decoration(percent_played=95)),
    (Decoration(percent_played=1), Decoration(percent_played=5)),
    (Decoration(unplayed_count=3), Decoration(unplayed_count=3)),
    (Decoration(unplayed_count=4), None),                              # exact only
    (Decoration(percent_played=47, blur=3), None),                     # other fields must match
])
def test_match_decoration(wanted, expected):
    assert match_decoration(STEPS, wanted) == expected


def derivative(name, w, h, fmt="Jpg", q=90, decoration=Decoration()):
    return Derivative(f"images/t/{name}", w, h, fmt, q, decoration=decoration)


def test_select_falls_back_to_plain_and_says_so():
    files = [derivative("a", 228, 342), derivative("b", 228, 342, decoration=Decoration(percent_played=45)),
             derivative("c", 456, 684)]
    choice = select(files, 1000, 1500, "Jpg", SizeRequest(fillWidth=228, fillHeight=342), None, None, 90,
                    Decoration(percent_played=44))
    assert choice.derivative.file == "images/t/b" and choice.applied
    choice = select(files, 1000, 1500, "Jpg", SizeRequest(maxWidth=400), None, None, 90, Decoration(blur=3))
    assert choice.derivative.file == "images/t/c" and not choice.applied
