"""``output=s3://bucket/prefix``: renders written straight into an S3-compatible bucket (moto's
standalone server on 127.0.0.1), JSON objects next, the manifest last; the bucket holds byte for
byte what a local build writes; a second run puts nothing. ``S3Store`` unit behaviour."""

import textwrap

import pytest

from conftest import copy_media, moto_server, run_doit, use_test_aws_credentials

boto3 = pytest.importorskip("boto3")

CATALOG = textwrap.dedent("""\
    settings:
      formats: [Original, Webp, Jpg]
      sizes: [{maxWidth: [160, 320]}]
    items:
      - id: show
        name: Show
        type: Series
        images:
          Primary: media/poster-wood.jpg
          Logo: media/matplotlib-logo.png
      - id: ep1
        name: Episode 1
        type: Episode
        parent: show
        images: {Primary: media/Dune.jpg}
    users:
      - id: alice
        name: alice
        images: {Primary: media/avatar-meadow.jpg}
""")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):
    use_test_aws_credentials(monkeypatch)


def make_catalog(root):
    copy_media(root, "poster-wood.jpg", "matplotlib-logo.png", "Dune.jpg", "avatar-meadow.jpg")
    (root / "catalog.yaml").write_text(CATALOG)
    return root / "catalog.yaml"


def local_tree(output) -> dict[str, bytes]:
    """What a local build publishes: every file but ``.cache/`` and the report."""
    files = {p.relative_to(output).as_posix(): p for p in output.rglob("*") if p.is_file()}
    return {rel: p.read_bytes() for rel, p in files.items()
            if not rel.startswith(".cache/") and rel != "index.html"}


def bucket_tree(endpoint, bucket, prefix) -> dict[str, tuple[bytes, str, str]]:
    client = boto3.client("s3", endpoint_url=endpoint)
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            got = client.get_object(Bucket=bucket, Key=obj["Key"])
            found[obj["Key"][len(prefix):]] = (got["Body"].read(), got["ContentType"], obj["ETag"])
    return found


def test_s3_build_matches_local_build_and_noop_puts_nothing(tmp_path):
    catalog = make_catalog(tmp_path)
    run_doit(catalog, tmp_path / "local", check=True)
    expected = local_tree(tmp_path / "local")
    with moto_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="media")
        args = (f"endpoint={endpoint}", f"work={tmp_path / 'work'}")
        first = run_doit(catalog, "s3://media/lib", *args, check=True)
        assert "4 rendered" in first.stdout, first.stdout
        got = bucket_tree(endpoint, "media", "lib/")
        assert {k: v[0] for k, v in got.items()} == expected
        assert got["manifest.json"][1].startswith("application/json")
        assert any(k.endswith(".webp") and v[1] == "image/webp" for k, v in got.items())
        assert not (tmp_path / "work" / "images").exists()          # nothing rendered locally
        second = run_doit(catalog, "s3://media/lib", *args, check=True)
        assert "0 rendered, 4 up to date" in second.stdout, second.stdout
        assert bucket_tree(endpoint, "media", "lib/") == got
        # a render record gone from the bucket: that tag (only) is rendered again
        client = boto3.client("s3", endpoint_url=endpoint)
        record = next(k for k in got if k.endswith("render.json"))
        client.delete_object(Bucket="media", Key="lib/" + record)
        third = run_doit(catalog, "s3://media/lib", *args, check=True)
        assert "1 rendered, 3 up to date" in third.stdout, third.stdout
        assert {k: v[0] for k, v in bucket_tree(endpoint, "media", "lib/").items()} == expected


def test_s3_store_unit(tmp_path):
    from pipeline.store import open_store
    from pipeline.store.s3 import S3Store, s3_location, work_folder
    with moto_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bkt")
        location = s3_location("s3://bkt/p/q", endpoint)
        store = open_store(location)
        assert isinstance(store, S3Store) and open_store(location) is store
        assert store.prefix == "p/q/" and store.endpoint == endpoint
        assert not store.exists("images/t/a.webp")
        assert store.put("images/t/a.webp", b"abc") == 3
        assert store.exists("images/t/a.webp") and store.size("images/t/a.webp") == 3
        assert store.read("images/t/a.webp") == b"abc"
        legacy = "Items/x/Images/Primary/0/t/Webp/0/0/0/0"
        assert store.link("images/t/a.webp", legacy) and not store.link("images/t/a.webp", legacy)
        fresh = S3Store(location)                       # another process: one listing
        assert sorted(fresh.list()) == sorted(["images/t/a.webp", legacy])
        head = fresh.client.head_object(Bucket="bkt", Key="p/q/" + legacy)
        assert head["ContentType"] == "image/webp" and "immutable" in head["CacheControl"]
        assert store.delete("images/t/a.webp") and not store.exists("images/t/a.webp")
        with pytest.raises(FileNotFoundError):
            store.read("images/t/a.webp")
        with pytest.raises(ValueError):
            store.put("../x", b"")
    assert work_folder("s3://b/p/q") == "s3-work/b/p/q"
    with pytest.raises(ValueError):
        S3Store("s3:///nobucket")
