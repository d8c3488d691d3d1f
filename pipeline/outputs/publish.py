"""Upload a built output folder to an S3-compatible bucket (``doit publish``), resumably.

Where to: ``PublishTarget`` (endpoint URL, bucket, key prefix) from doit variables or the
environment (``S3_ENDPOINT_URL``, ``S3_BUCKET``, ``S3_PREFIX``); credentials and region come
from boto3's usual chain (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``~/.aws``), never from the catalog.

What and how:

- Every file under the output folder except ``.cache/`` and temporary files, with its
  Content-Type (images by extension, the legacy path links by the derivative they link to, JSON
  as ``application/json; charset=utf-8``) and Cache-Control: ``public, max-age=31536000,
  immutable`` for tag-named files (``images/{tag}/…`` and the legacy links, whose path holds
  the tag), ``public, max-age=60`` (``short_max_age``) for everything else.
- Order: images, then legacy links, then the other files (JSON objects, feeds, the report),
  then serve.py's ``index.sqlite``, then ``manifest.json`` last, each phase finished before
  the next starts (uploads run in parallel within a phase), so a client never reads an object
  or index that names a file not uploaded yet.
- Only what the bucket lacks: the bucket is listed once (keys, sizes, ETags). A tag-named file
  (``images/{tag}/…``, legacy paths: immutable, the tag names the bytes) is skipped when its key
  exists with the same size, and is never hashed. Any other file (JSON, manifest, report) is
  hashed (MD5) and skipped when the key's ETag is that MD5 (a single-part upload without
  SSE-KMS), or when the key still has the ETag recorded in ``.cache/published.json`` for the
  upload of these very bytes (buckets whose ETags are not MD5s: SSE-KMS, multipart). A run that
  was interrupted therefore resumes where it stopped, and a second run uploads nothing.
- Parallel uploads (a thread pool of ``jobs``) with a progress line on stderr.
- Deletes nothing unless ``delete=True``: then keys under the prefix that the folder no longer
  has are removed, after the manifest is uploaded.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.model import layout
from pipeline.store.atomic import TEMP_MARK
from pipeline.model.formats import FORMATS
from pipeline.model.http import IMMUTABLE, JSON_TYPE

#: Files larger than this are uploaded in parts (their ETag is then not an MD5).
MULTIPART_THRESHOLD = 256 * 1024 * 1024
_BY_EXTENSION = {f.extension: f.mime for f in FORMATS.values()}
SQLITE_TYPE = "application/vnd.sqlite3"   # IANA-registered type of an SQLite database file


@dataclass(frozen=True)
class PublishTarget:
    """Where to upload: ``bucket`` name, key ``prefix`` ("" or ending in "/"), and the S3
    ``endpoint`` URL (None: AWS itself)."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None

    @classmethod
    def from_env(cls, bucket: str | None = None, prefix: str | None = None,
                 endpoint: str | None = None, environ=os.environ) -> "PublishTarget":
        """Explicit values first, else ``S3_BUCKET``, ``S3_PREFIX``, ``S3_ENDPOINT_URL`` (or
        ``AWS_ENDPOINT_URL``). Raises ValueError when no bucket is given."""
        bucket = bucket or environ.get("S3_BUCKET")
        if not bucket:
            raise ValueError("publish: no bucket; set S3_BUCKET or pass bucket=NAME")
        prefix = prefix if prefix is not None else environ.get("S3_PREFIX", "")
        prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        endpoint = endpoint or environ.get("S3_ENDPOINT_URL") or environ.get("AWS_ENDPOINT_URL") or None
        return cls(bucket, prefix, endpoint)


@dataclass(frozen=True)
class LocalFile:
    """One file to publish: ``rel`` path under the output folder (POSIX), ``size`` in bytes,
    ``md5`` hex ("" for tag-named files, which are never hashed), ``content_type``, ``cache_control`` and upload ``phase`` (0 images, 1 legacy
    links, 2 other files, 3 the serve index, 4 the manifest)."""

    rel: str
    size: int
    md5: str
    content_type: str
    cache_control: str
    phase: int


@dataclass
class PublishResult:
    """What a run did: ``uploaded`` keys in completion order, ``skipped`` count, ``deleted``
    keys, ``bytes`` uploaded, ``seconds`` taken."""

    uploaded: list[str] = field(default_factory=list)
    skipped: int = 0
    deleted: list[str] = field(default_factory=list)
    bytes: int = 0
    seconds: float = 0.0


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def local_files(output: str | Path, short_max_age: int = 60) -> list[LocalFile]:
    """Every publishable file of ``output``, ordered by phase then path.

    Raises FileNotFoundError when ``output`` has no manifest (build first) and ValueError for a
    file whose Content-Type cannot be determined.
    """
    output = Path(output).resolve()
    if not (output / layout.MANIFEST).is_file():
        raise FileNotFoundError(f"{output / layout.MANIFEST} not found: build first (doit)")
    short = f"public, max-age={short_max_age}"
    by_inode: dict[tuple[int, int], str] = {}
    images_dir = output / layout.IMAGES_DIR
    if images_dir.is_dir():
        for path in images_dir.rglob("*"):
            if path.is_file():
                st = path.stat()
                by_inode[(st.st_dev, st.st_ino)] = path.name
    files = []
    for path in sorted(output.rglob("*")):
        rel = path.relative_to(output).as_posix()
        if not path.is_file() or rel.startswith(layout.CACHE_DIR + "/") or TEMP_MARK in path.name:
            continue
        st = path.stat()
        if rel == layout.MANIFEST:
            ctype, cache, phase = JSON_TYPE, short, 4
        elif rel == layout.INDEX:      # serve.py's index: a phase of its own, before the manifest
            ctype, cache, phase = SQLITE_TYPE, short, 3
        elif rel.startswith(layout.IMAGES_DIR + "/"):
            ctype, cache, phase = _content_type(path, rel), IMMUTABLE, 0
        elif layout.legacy_owner_and_tag(rel):
            name = by_inode.get((st.st_dev, st.st_ino))
            ctype = _content_type(path, name) if name else _sniff(path)
            cache, phase = IMMUTABLE, 1
        else:
            ctype, cache, phase = _content_type(path, rel), short, 2
        files.append(LocalFile(rel, st.st_size, "" if cache == IMMUTABLE else _md5(path), ctype, cache, phase))
    return sorted(files, key=lambda f: (f.phase, f.rel))


def _content_type(path: Path, name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in _BY_EXTENSION:
        return _BY_EXTENSION[ext]
    if ext == "json":
        return JSON_TYPE
    guessed = mimetypes.guess_type(name)[0]
    if guessed:
        return guessed + ("; charset=utf-8" if guessed.startswith("text/") or guessed.endswith("xml") else "")
    return _sniff(path)


def _sniff(path: Path) -> str:
    from PIL import Image
    try:
        with Image.open(path) as im:
            fmt = im.format
    except OSError:
        raise ValueError(f"publish: cannot tell the Content-Type of {path}") from None
    for f in FORMATS.values():
        if f.pillow == fmt or (fmt == "MPO" and f.pillow == "JPEG"):
            return f.mime
    raise ValueError(f"publish: cannot tell the Content-Type of {path} ({fmt})")


def s3_client(target: PublishTarget):
    """A boto3 S3 client for ``target`` (path-style addressing, so any endpoint works)."""
    import boto3
    from botocore.config import Config
    return boto3.client("s3", endpoint_url=target.endpoint,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5},
                                      max_pool_connections=32))


def remote_objects(client, target: PublishTarget) -> dict[str, tuple[int, str]]:
    """{key: (size in bytes, ETag without quotes)} of every object under the prefix."""
    found = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=target.bucket, Prefix=target.prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = (obj["Size"], obj["ETag"].strip('"'))
    return found


class _Progress:
    def __init__(self, total: int, total_bytes: int, stream=sys.stderr):
        self.total, self.total_bytes, self.stream = total, total_bytes, stream
        self.done = self.bytes = 0
        self.lock = threading.Lock()
        self.last = 0.0

    def add(self, size: int) -> None:
        with self.lock:
            self.done += 1
            self.bytes += size
            now = time.monotonic()
            if now - self.last >= 0.2 or self.done == self.total:
                self.last = now
                end = "\n" if self.done == self.total else "\r"
                self.stream.write(f"publish: {self.done}/{self.total} files, "
                                  f"{self.bytes / 1e6:.1f}/{self.total_bytes / 1e6:.1f} MB{end}")
                self.stream.flush()


class _PublishRecord:
    """``.cache/published.json``: for each mutable key uploaded, the MD5 of the bytes sent and
    the ETag the bucket gave them; saved after the upload phases (a failed run redoes them)."""

    def __init__(self, output: Path, target: PublishTarget):
        import json
        self.path = output / layout.CACHE_DIR / "published.json"
        self.where = f"{target.endpoint or ''} {target.bucket} {target.prefix}"
        self.lock = threading.Lock()
        try:
            data = json.loads(self.path.read_bytes())
            self.keys = data["keys"] if data.get("where") == self.where else {}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            self.keys = {}

    def etag(self, key: str, md5: str) -> str | None:
        known = self.keys.get(key)
        return known[1] if isinstance(known, list) and len(known) == 2 and known[0] == md5 else None

    def uploaded(self, key: str, md5: str, etag: str) -> None:
        with self.lock:
            self.keys[key] = [md5, etag]

    def save(self) -> None:
        import json
        from pipeline.store.atomic import atomic_write_bytes
        atomic_write_bytes(self.path, json.dumps({"where": self.where, "keys": self.keys}).encode())


def publish(output: str | Path, target: PublishTarget, jobs: int = 8, delete: bool = False,
            short_max_age: int = 60, client=None, on_uploaded=None, stream=sys.stderr) -> PublishResult:
    """Upload ``output`` to ``target`` (see the module doc for what, in which order, and what
    is skipped). ``jobs``: parallel uploads; ``delete``: remove keys the folder no longer has;
    ``on_uploaded(key)``: called after each upload (tests use it to interrupt a run).

    Returns a ``PublishResult``. Raises FileNotFoundError without a manifest and botocore's
    errors (``ClientError``, ``EndpointConnectionError`` …) when the bucket cannot be used.
    """
    started = time.monotonic()
    files = local_files(output, short_max_age)
    output = Path(output).resolve()
    client = client or s3_client(target)
    remote = remote_objects(client, target)
    record = _PublishRecord(output, target)
    result = PublishResult()
    todo = []
    for f in files:
        key = target.prefix + f.rel
        have = remote.get(key)
        if have and have[0] == f.size and (f.cache_control == IMMUTABLE or have[1] == f.md5
                                           or record.etag(key, f.md5) == have[1]):
            result.skipped += 1
        else:
            todo.append(f)
    progress = _Progress(len(todo), sum(f.size for f in todo), stream)
    lock = threading.Lock()

    def upload(f: LocalFile) -> None:
        from boto3.s3.transfer import TransferConfig
        key = target.prefix + f.rel
        client.upload_file(str(output / f.rel), target.bucket, key,
                           ExtraArgs={"ContentType": f.content_type, "CacheControl": f.cache_control},
                           Config=TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, use_threads=False))
        if f.md5:
            etag = client.head_object(Bucket=target.bucket, Key=key)["ETag"].strip('"')
            record.uploaded(key, f.md5, etag)
        with lock:
            result.uploaded.append(key)
            result.bytes += f.size
        progress.add(f.size)
        if on_uploaded is not None:
            on_uploaded(key)

    if not todo:
        stream.write("publish: nothing to upload\n")
    for phase in range(5):
        batch = [f for f in todo if f.phase == phase]
        if not batch:
            continue
        pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        try:
            for future in [pool.submit(upload, f) for f in batch]:
                future.result()            # re-raise the first failure; later phases never start
        except BaseException:              # an error or Ctrl-C: drop what has not started
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
    record.save()
    if delete:
        wanted = {target.prefix + f.rel for f in files}
        stale = sorted(k for k in remote if k not in wanted)
        for i in range(0, len(stale), 1000):
            client.delete_objects(Bucket=target.bucket,
                                  Delete={"Objects": [{"Key": k} for k in stale[i:i + 1000]], "Quiet": True})
        result.deleted = stale
    result.seconds = time.monotonic() - started
    return result
