"""ART19 Content API JSON:API pieces (pipeline/art19/jsonapi.py, api-reference §5)."""

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest

from pipeline.art19.crop import CropData
from pipeline.art19.jsonapi import (
    CONTENT_TYPE,
    JsonApiError,
    auth_error,
    canonical_uuid,
    check_credentials,
    collection_document,
    image_resource,
    media_asset_resource,
    parse_authorization,
    parse_ids,
    single_document,
)

A = "c1fbb1bf-45b1-4803-986e-123166f7f427"
B = "0e545515-c464-480e-a841-e216a24fc123"


def query(qs):
    return parse_qsl(qs, keep_blank_values=True)


def test_content_type():
    assert CONTENT_TYPE == "application/vnd.api+json"


def test_parse_ids_percent_encoded_and_plain_brackets():
    assert parse_ids(query(f"ids%5B%5D={A}&ids%5B%5D={B}")) == [A, B]
    assert parse_ids(query(f"ids[]={B}&ids[]={A}")) == [B, A]  # request order kept


def test_parse_ids_canonicalises_case_and_drops_repeats():
    assert parse_ids(query(f"ids%5B%5D={A.upper()}&ids%5B%5D={A}&ids%5B%5D={B}")) == [A, B]


def test_parse_ids_ignores_other_parameters():
    assert parse_ids(query(f"include=media_assets&ids%5B%5D={A}")) == [A]


@pytest.mark.parametrize(
    "qs, title",
    [
        ("", "Missing parameter"),
        (f"ids={A}", "Missing parameter"),  # no brackets: not the ids[] parameter
        ("ids%5B%5D=", "Invalid parameter"),
        ("ids%5B%5D=42", "Invalid parameter"),
        (f"ids%5B%5D={A},{B}", "Invalid parameter"),  # comma list: repeat the parameter instead
        (f"ids%5B%5D={{{A}}}", "Invalid parameter"),  # braces
        (f"ids%5B%5D={A.replace('-', '')}", "Invalid parameter"),  # no hyphens
        (f"ids%5B%5D={A}%0A", "Invalid parameter"),  # trailing newline
        (f"ids%5B%5D={A}&ids%5B%5D=nope", "Invalid parameter"),
    ],
)
def test_parse_ids_errors_are_400_naming_the_parameter(qs, title):
    with pytest.raises(JsonApiError) as caught:
        parse_ids(query(qs))
    error = caught.value
    assert (error.status, error.title, error.parameter) == (400, title, "ids[]")
    assert error.to_document() == {
        "errors": [
            {"status": "400", "title": title, "detail": error.detail, "source": {"parameter": "ids[]"}}
        ]
    }


def test_parse_ids_rejects_pagination():
    with pytest.raises(JsonApiError) as caught:
        parse_ids(query(f"ids%5B%5D={A}&page%5Bnumber%5D=1&page%5Bsize%5D=25"))
    assert (caught.value.status, caught.value.parameter) == (400, "page[number]")


def test_parse_ids_with_another_parameter_and_validator():
    def ascii_slug(value):
        return value if value.isascii() else None

    assert parse_ids([("slugs[]", "my-show")], param="slugs[]", canonical=ascii_slug) == ["my-show"]
    with pytest.raises(JsonApiError) as caught:
        parse_ids([("slugs[]", "café")], param="slugs[]", canonical=ascii_slug)
    assert caught.value.parameter == "slugs[]"


def test_long_bad_values_are_shortened_in_the_detail():
    with pytest.raises(JsonApiError) as caught:
        parse_ids([("ids[]", "x" * 1000)])
    assert len(caught.value.detail) < 120


def test_canonical_uuid():
    assert canonical_uuid(A.upper()) == A
    assert canonical_uuid("not-a-uuid") is None


def test_error_document_without_parameter_has_no_source():
    assert JsonApiError(404, "Not Found", "no image c1fb…").to_document() == {
        "errors": [{"status": "404", "title": "Not Found", "detail": "no image c1fb…"}]
    }


def image(**overrides):
    arguments = dict(
        crop_data={"left": 100, "top": 150, "width": 3000, "height": 3000},
        created_at="2024-01-02T03:04:05.678Z",
        updated_at=datetime(2024, 1, 2, 5, 4, 5, 678000, tzinfo=timezone(timedelta(hours=2))),
        bucket_type="Series",
        bucket_id=B,
        media_asset_ids=["m1", "m2"],
    )
    arguments.update(overrides)
    return image_resource(A, **arguments)


def test_image_resource_shape():
    assert image() == {
        "id": A,
        "type": "images",
        "attributes": {
            "crop_data": {"left": 100.0, "top": 150.0, "width": 3000.0, "height": 3000.0},
            "status": "valid",
            "created_at": "2024-01-02T03:04:05.678Z",
            "updated_at": "2024-01-02T03:04:05.678Z",  # converted to UTC
            "bucket_type": "Series",
            "bucket_id": B,
        },
        "relationships": {
            "media_assets": {
                "data": [{"id": "m1", "type": "media_assets"}, {"id": "m2", "type": "media_assets"}]
            }
        },
    }


def test_image_resource_without_crop_and_with_a_crop_object():
    assert image(crop_data=None)["attributes"]["crop_data"] is None
    crop = CropData(1.5, 2, 3, 3)
    expected = {"left": 1.5, "top": 2, "width": 3, "height": 3}
    assert image(crop_data=crop)["attributes"]["crop_data"] == expected


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"bucket_type": "Podcast"}, "bucket_type"),
        ({"status": "done"}, "status"),
        ({"crop_data": {"left": 0, "top": 0, "width": 10}}, "crop_data.height"),
        ({"created_at": datetime(2024, 1, 1)}, "time zone"),
    ],
)
def test_image_resource_rejects_bad_values(overrides, match):
    with pytest.raises(ValueError, match=match):
        image(**overrides)


def asset(**overrides):
    arguments = dict(
        style="square-400",
        cdn_url="https://cdn.example/a/square-400.jpg",
        content_type="image/jpeg",
        file_name="square-400.jpg",
        file_size=51234,
        size_width=400,
        size_height=400,
        attachment_id=A,
    )
    arguments.update(overrides)
    return media_asset_resource("m1", **arguments)


def test_media_asset_resource_shape():
    assert asset() == {
        "id": "m1",
        "type": "media_assets",
        "attributes": {
            "style": "square-400",
            "cdn_url": "https://cdn.example/a/square-400.jpg",
            "content_type": "image/jpeg",
            "file_name": "square-400.jpg",
            "file_size": 51234,
            "size_width": 400,
            "size_height": 400,
            "attachment_id": A,
            "attachment_type": "Image",
        },
    }
    with pytest.raises(ValueError, match="square-500"):
        asset(style="square-500")


def test_documents_are_json_serialisable():
    collection = collection_document([image()], "https://api.example/images?ids%5B%5D=" + A)
    assert collection == {"data": [image()], "links": {"self": "https://api.example/images?ids%5B%5D=" + A}}
    assert collection_document([], "/images?ids%5B%5D=" + B)["data"] == []  # unknown ids: simply absent
    assert single_document(asset()) == {"data": asset()}
    expected = {"data": asset(), "links": {"self": "/media_assets/m1"}}
    assert single_document(asset(), "/media_assets/m1") == expected
    json.dumps(collection)


@pytest.mark.parametrize(
    "header, expected",
    [
        ('Token token="secret", credential="cred-1"', ("secret", "cred-1")),
        ('Token credential="cred-1", token="secret"', ("secret", "cred-1")),
        ('token TOKEN="secret" ,  Credential="cred-1"', ("secret", "cred-1")),
        ("Token token=secret, credential=cred-1", ("secret", "cred-1")),
        (r'Token token="se\"cret", credential="cred-1", realm="x"', ('se"cret', "cred-1")),
        ('Token token="a=b,c", credential="cred-1"', ("a=b,c", "cred-1")),
    ],
)
def test_parse_authorization(header, expected):
    assert parse_authorization(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Token",
        'Bearer token="secret", credential="cred-1"',
        'Tokentoken="secret", credential="cred-1"',
        'Token token="secret"',
        'Token credential="cred-1"',
        'Token token="", credential="cred-1"',
        'Token token="secret" credential="cred-1"',  # no comma
        'Token token="secret", credential="cred-1", token="other"',  # repeated
        'Token token="secret, credential="cred-1"',  # unbalanced quote
    ],
)
def test_parse_authorization_rejects(header):
    assert parse_authorization(header) is None


ALLOWED = {"cred-1": "secret-1", "cred-2": "secret-2"}


@pytest.mark.parametrize(
    "header, granted, expected",
    [
        ('Token token="secret-1", credential="cred-1"', None, "ok"),
        ('Token token="secret-1", credential="cred-1"', {"cred-1"}, "ok"),
        ('Token token="secret-2", credential="cred-2"', {"cred-1"}, "forbidden"),  # valid, no access: 403
        ('Token token="secret-2", credential="cred-1"', None, "missing"),  # wrong token: 401
        ('Token token="secret-1", credential="cred-9"', None, "missing"),  # unknown credential: 401
        ('Token token="secret-1", credential="cred-9"', {"cred-9"}, "missing"),  # granted but not valid
        ('Token token="secret-1"', None, "missing"),  # malformed: 401
        (None, None, "missing"),
        ('Token token="sécret", credential="cred-1"', None, "missing"),  # non-ASCII does not crash
    ],
)
def test_check_credentials(header, granted, expected):
    assert check_credentials(header, ALLOWED, granted) == expected


def test_auth_errors():
    assert auth_error("ok") is None
    unauthorized, forbidden = auth_error("missing"), auth_error("forbidden")
    assert unauthorized.status == 401 and forbidden.status == 403
    assert unauthorized.to_document()["errors"][0]["status"] == "401"
    assert "source" not in forbidden.to_document()["errors"][0]
