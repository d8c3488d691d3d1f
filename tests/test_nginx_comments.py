"""Issue 12 item 9: the generated nginx config's comment lines stay under nginx's 4 KB token
limit however many images the build has (10,000 items made one line nginx refused)."""

from pipeline.hosting.nginx import _comment


def test_exception_lists_are_wrapped_into_short_comment_lines():
    names = [f"{i:032x}:height" for i in range(1000)]
    text = _comment(names, "upscale rounding for")
    lines = text.split("\n")
    assert len(lines) == 25 and all(line.startswith("# upscale rounding for: ") for line in lines)
    assert max(len(line) for line in lines) < 4096
    assert " ".join(line.split(": ", 1)[1] for line in lines).split() == names
    assert _comment([], "ids differing only by case") == "# ids differing only by case: none"
