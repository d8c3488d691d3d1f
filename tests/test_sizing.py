"""Table-driven tests of the output-size rule (api-reference §1, Jellyfin ImageHelper)."""

import pytest

from pipeline.model.sizing import SizeRequest, output_size

CASES = [
    # (source W, H, request, expected)
    ((1000, 1500), {}, (1000, 1500)),
    ((1000, 1500), {"width": 200}, (200, 300)),
    ((1000, 1500), {"height": 300}, (200, 300)),
    ((1000, 1500), {"width": 200, "height": 200}, (200, 200)),           # forced, ratio lost
    ((1000, 1500), {"maxWidth": 400}, (400, 600)),
    ((1000, 1500), {"maxHeight": 300}, (200, 300)),
    ((1000, 1500), {"maxWidth": 400, "maxHeight": 300}, (200, 300)),     # height binds first
    ((1000, 1500), {"maxWidth": 5000}, (1000, 1500)),                    # max above source: unchanged
    ((1000, 1500), {"width": 400, "maxHeight": 300}, (200, 300)),        # width then max shrinks
    ((1000, 1500), {"width": 400, "maxWidth": 100}, (100, 150)),
    # fill: cover the box, keep the ratio, no crop (jellyfin-web cards)
    ((1000, 1500), {"fillWidth": 228, "fillHeight": 342}, (228, 342)),
    ((2560, 1600), {"fillWidth": 228, "fillHeight": 342}, (548, 342)),   # wide source covers a tall box
    ((2560, 1600), {"fillWidth": 300}, (300, 188)),                      # missing fillHeight counts as 1
    ((100, 150), {"fillWidth": 228, "fillHeight": 342}, (100, 150)),     # r < 1: left as is
    # never upscaled (Jellyfin 12 ScaleDownToFit)
    ((542, 130), {"height": 220}, (542, 130)),
    ((542, 130), {"width": 1084}, (542, 130)),
    ((542, 130), {"width": 1000, "height": 100}, (542, 54)),             # forced size scaled into source
    ((100, 100), {"width": 300, "height": 50}, (100, 17)),
    # half-to-even rounding: 3/2 = 1.5 → 2, 5/2 = 2.5 → 2
    ((3, 2), {"width": 2}, (2, 1)),        # 2/3*2 = 1.333 → 1
    ((4, 3), {"width": 2}, (2, 2)),        # 2/4*3 = 1.5 → 2 (even)
    ((4, 5), {"width": 2}, (2, 2)),        # 2/4*5 = 2.5 → 2 (even)
    ((4, 7), {"width": 2}, (2, 4)),        # 3.5 → 4 (even)
    # tiny results never reach 0
    ((4000, 10), {"width": 100}, (100, 1)),
    ((10, 4000), {"maxHeight": 100}, (1, 100)),
    # 0 and negatives count as absent (legacy path form sends 0)
    ((1000, 1500), {"maxWidth": 0, "maxHeight": 0}, (1000, 1500)),
]


@pytest.mark.parametrize("source,params,expected", CASES)
def test_output_size(source, params, expected):
    assert output_size(*source, SizeRequest(**params)) == expected


def test_invalid_source_size():
    with pytest.raises(ValueError):
        output_size(0, 10, SizeRequest())


def test_request_helpers():
    assert SizeRequest().is_empty()
    assert SizeRequest(maxWidth=0).is_empty()
    assert not SizeRequest(width=3, height=4).keeps_aspect()
    assert SizeRequest(width=3).keeps_aspect()
    assert SizeRequest(fillWidth=228, fillHeight=342).describe() == "fillWidth=228&fillHeight=342"
