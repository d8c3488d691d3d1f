"""pipeline.outputs.publish against a real S3-compatible server (moto's standalone server, started on a
free 127.0.0.1 port): objects, their metadata, upload order, resume after an interruption, a
second run that uploads nothing, deletion only when asked, and ``doit publish``."""

import io
import textwrap

import pytest

from conftest import copy_media, moto_server, run_doit, use_test_aws_credentials
from pipeline.outputs.publish import IMMUTABLE, JSON_TYPE, PublishTarget, local_files, publish, s3_client

boto3 = pytest.importorskip("boto3")

CATALOG = textwrap.dedent("""\
    settings:
      legacy_links: true      # the legacy-link phase is published too
      formats: [Original, Webp]
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


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("publish")
    copy_media(root, "poster-wood.jpg", "matplotlib-logo.png", "Dune.jpg", "avatar-meadow.jpg")
    (root / "catalog.yaml").write_text(CATALOG)
    output = root / "output"
    run_doit(root / "catalog.yaml", output, check=True)
    (output / ".cache" / "secret.txt").write_text("not for the bucket")
    return root, output


@pytest.fixture()
def bucket():
    with moto_server() as endpoint:
        target = PublishTarget("media", "site/v1/", endpoint)
        client = s3_client(target)
        client.create_bucket(Bucket="media")
        yield target, client


def test_local_files_types_and_order(built):
    _, output = built
    files = local_files(output)
    rels = [f.rel for f in files]
    assert rels[-1] == "manifest.json"
    assert not any(r.startswith(".cache/") for r in rels)
    phases = [f.phase for f in files]
    assert phases == sorted(phases)
    by_rel = {f.rel: f for f in files}
    assert by_rel["Items/show/index.json"].content_type == JSON_TYPE
    assert by_rel["Items/show/index.json"].cache_control == "public, max-age=60"
    webp = next(f for f in files if f.rel.endswith(".webp"))
    assert webp.content_type == "image/webp" and webp.cache_control == IMMUTABLE
    legacy = [f for f in files if f.phase == 1]
    assert legacy and all(f.cache_control == IMMUTABLE for f in legacy)
    assert {f.content_type for f in legacy} <= {"image/jpeg", "image/png", "image/webp"}


def test_publish_uploads_everything_with_metadata_then_nothing(built, bucket):
    _, output = built
    target, client = bucket
    errors = io.StringIO()
    first = publish(output, target, jobs=4, stream=errors)
    files = local_files(output)
    assert len(first.uploaded) == len(files) and first.skipped == 0
    assert "publish: " in errors.getvalue() and f"{len(files)}/{len(files)} files" in errors.getvalue()
    # order: every image before every legacy link before every JSON object, manifest last
    phase = {target.prefix + f.rel: f.phase for f in files}
    order = [phase[k] for k in first.uploaded]
    assert order == sorted(order) and first.uploaded[-1] == "site/v1/manifest.json"
    # objects and metadata
    for f in files:
        head = client.head_object(Bucket="media", Key=target.prefix + f.rel)
        assert head["ContentType"] == f.content_type, f.rel
        assert head["CacheControl"] == f.cache_control, f.rel
        assert head["ContentLength"] == f.size
    body = client.get_object(Bucket="media", Key="site/v1/Items/show/index.json")["Body"].read()
    assert body == (output / "Items/show/index.json").read_bytes()
    listed = client.list_objects_v2(Bucket="media", Prefix="site/v1/.cache")
    assert listed.get("KeyCount", 0) == 0
    # a second run uploads nothing
    second = publish(output, target, stream=io.StringIO())
    assert second.uploaded == [] and second.skipped == len(files)


def test_interrupted_publish_resumes(built, bucket):
    _, output = built
    target, client = bucket
    count = 0

    def stop_after_five(key):
        nonlocal count
        count += 1
        if count == 5:
            raise KeyboardInterrupt("simulated interruption")

    with pytest.raises(KeyboardInterrupt):
        publish(output, target, jobs=1, on_uploaded=stop_after_five, stream=io.StringIO())
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="media", Prefix="site/")["Contents"]}
    # the failing upload's worker may have started one more (jobs=1) before the rest was dropped
    assert 5 <= len(keys) <= 6 and "site/v1/manifest.json" not in keys
    resumed = publish(output, target, stream=io.StringIO())
    assert resumed.skipped == len(keys) and len(resumed.uploaded) == len(local_files(output)) - len(keys)
    assert resumed.uploaded[-1] == "site/v1/manifest.json"


def test_changed_json_is_uploaded_again_and_delete_only_when_asked(built, bucket, tmp_path):
    _, output = built
    target, client = bucket
    publish(output, target, stream=io.StringIO())
    client.put_object(Bucket="media", Key="site/v1/images/stale/old.jpg", Body=b"x")
    client.put_object(Bucket="media", Key="other/keep.txt", Body=b"y")
    # same size, other content: compared by MD5, not by size or time
    path = output / "Users/alice/index.json"
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"alice", b"ALICE"))
        again = publish(output, target, stream=io.StringIO())
        assert again.uploaded == ["site/v1/Users/alice/index.json"] and again.deleted == []
        assert client.head_object(Bucket="media", Key="site/v1/images/stale/old.jpg")
        cleaned = publish(output, target, delete=True, stream=io.StringIO())
        assert cleaned.deleted == ["site/v1/images/stale/old.jpg"]
        assert client.head_object(Bucket="media", Key="other/keep.txt")
    finally:
        path.write_bytes(original)


def test_target_from_environment(monkeypatch):
    monkeypatch.setenv("S3_BUCKET", "b")
    monkeypatch.setenv("S3_PREFIX", "/a/b")
    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:9")
    assert PublishTarget.from_env() == PublishTarget("b", "a/b/", "http://127.0.0.1:9")
    assert PublishTarget.from_env("c", "", None).prefix == ""
    monkeypatch.delenv("S3_BUCKET")
    with pytest.raises(ValueError):
        PublishTarget.from_env()


def test_doit_publish(built, bucket):
    root, output = built
    target, client = bucket
    result = run_doit(root / "catalog.yaml", output, "publish", f"bucket={target.bucket}",
                      f"endpoint={target.endpoint}", "prefix=from-doit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "publish:" in result.stdout
    head = client.head_object(Bucket="media", Key="from-doit/manifest.json")
    assert head["ContentType"] == JSON_TYPE
    assert (output / "index.html").is_file()          # the report is built before publishing
    assert client.head_object(Bucket="media", Key="from-doit/index.html")["ContentType"].startswith("text/html")


class NotMd5ETags:
    """A boto3 client whose ETags are not MD5s (as with SSE-KMS): listing and HEAD answer a
    digest of the real ETag; everything else goes to the real client."""

    def __init__(self, client):
        self.client = client

    @staticmethod
    def _mangle(etag):
        import hashlib
        return '"' + hashlib.sha1(etag.strip('"').encode()).hexdigest()[:32] + '"'

    def head_object(self, **kwargs):
        head = self.client.head_object(**kwargs)
        return {**head, "ETag": self._mangle(head["ETag"])}

    def get_paginator(self, name):
        real = self.client.get_paginator(name)
        mangle = self._mangle

        class Paginator:
            def paginate(self, **kwargs):
                for page in real.paginate(**kwargs):
                    yield {**page, "Contents": [{**o, "ETag": mangle(o["ETag"])} for o in page.get("Contents", [])]}
        return Paginator()

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_publish_without_md5_etags_and_without_hashing_tag_named_files(built, bucket, monkeypatch):
    """Issue 12 item 6: tag-named files are never hashed; a bucket whose ETags are not MD5s
    gets nothing uploaded twice (the ETag recorded at upload decides for mutable files)."""
    from pipeline.outputs import publish as publish_module
    _, output = built
    target, client = bucket
    hashed = []
    real_md5 = publish_module._md5
    monkeypatch.setattr(publish_module, "_md5", lambda path: hashed.append(path) or real_md5(path))
    kms = NotMd5ETags(client)
    files = local_files(output)
    assert hashed and not any("/images/" in str(p) or "/Images/" in str(p) and str(p).endswith("/0")
                              for p in hashed)
    first = publish(output, target, client=kms, stream=io.StringIO())
    assert len(first.uploaded) == len(files)
    second = publish(output, target, client=kms, stream=io.StringIO())
    assert second.uploaded == [] and second.skipped == len(files)
    (output / "Items/show/index.json").write_bytes((output / "Items/show/index.json").read_bytes() + b" ")
    try:
        third = publish(output, target, client=kms, stream=io.StringIO())
        assert third.uploaded == ["site/v1/Items/show/index.json"]
    finally:
        (output / "Items/show/index.json").write_bytes((output / "Items/show/index.json").read_bytes()[:-1])
