"""Unit tests: pipeline.serve.auth (Jellyfin's token sources, tokens file, constant-time match)."""

import pytest
from werkzeug.datastructures import Headers

from pipeline.serve import auth


def test_parse_authorization_as_jellyfin_get_parts():
    header = 'MediaBrowser Client="Jellyfin%20Web", Device="Firefox", DeviceId="a,b", Version="10.9", Token="t%2Bk"'
    assert auth.parse_authorization(header) == {"Client": "Jellyfin Web", "Device": "Firefox", "DeviceId": "a,b",
                                                "Version": "10.9", "Token": "t+k"}
    assert auth.parse_authorization('Emby Token="x1"') == {"Token": "x1"}
    assert auth.parse_authorization("emby Token=x2, Client=c") == {"Token": "x2", "Client": "c"}
    assert auth.parse_authorization('Bearer abc') is None
    assert auth.parse_authorization('MediaBrowser') is None
    assert auth.parse_authorization(None) is None


@pytest.mark.parametrize("headers, query, expected", [
    ({"Authorization": 'MediaBrowser Token="h1"'}, {}, "h1"),
    ({"X-Emby-Authorization": 'MediaBrowser Client="c", Token="h2"'}, {}, "h2"),
    ({"Authorization": 'MediaBrowser Token="h1"', "X-Emby-Token": "h3"}, {}, "h1"),
    ({"Authorization": 'MediaBrowser Client="c"', "X-Emby-Token": "h3"}, {}, "h3"),
    ({"X-MediaBrowser-Token": "h4"}, {}, "h4"),
    ({"X-Emby-Token": "h3", "X-MediaBrowser-Token": "h4"}, {}, "h3"),
    ({}, {"apikey": "q1", "api_key": "q2"}, "q1"),
    ({}, {"api_key": "q2"}, "q2"),
    ({"Authorization": "Basic Zm9vOmJhcg=="}, {}, None),
    ({}, {}, None),
])
def test_request_token_order(headers, query, expected):
    assert auth.request_token(Headers(headers), query) == expected


def test_load_tokens_and_authenticate(tmp_path):
    path = tmp_path / "tokens.yaml"
    path.write_text('- {token: "admin-token-1", user: alice, admin: true}\n'
                    '- {token: "user-token-22", user: bob}\n'
                    '- {token: "api-key-333", admin: true}\n')
    principals = auth.load_tokens(path, {"alice", "bob"})
    assert [(p.user, p.admin) for p in principals] == [("alice", True), ("bob", False), (None, True)]
    assert auth.authenticate(principals, "user-token-22").user == "bob"
    assert auth.authenticate(principals, "user-token-2") is None
    assert auth.authenticate(principals, "") is None
    assert auth.authenticate(principals, None) is None
    assert "token" not in repr(principals[0]).replace("Principal", "") or "admin-token-1" not in repr(principals[0])
    assert "admin-token-1" not in repr(principals)


@pytest.mark.parametrize("text, message", [
    ("{}", "non-empty list"),
    ("- {token: short, user: alice}", "at least 8"),
    ("- {token: longenough1, user: carol}", "not a user of the catalog"),
    ("- {token: longenough1}", "needs a user"),
    ("- {token: longenough1, user: alice, admin: yes please}", "admin must be true or false"),
    ("- {token: longenough1, user: alice, role: x}", "no other keys"),
    ("- {token: longenough1, user: alice}\n- {token: longenough1, user: bob}", "twice"),
])
def test_bad_tokens_files_name_the_entry_never_the_token(tmp_path, text, message):
    path = tmp_path / "tokens.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        auth.load_tokens(path, {"alice", "bob"})
    assert "longenough1" not in str(info.value)
    assert str(path) in str(info.value)
