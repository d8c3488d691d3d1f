"""``S3Store``: the ``Store`` protocol on an S3-compatible bucket (``output=s3://bucket/prefix``).

Location: ``s3://bucket/prefix`` with an optional ``?endpoint=URL`` (any S3-compatible server:
MinIO, Ceph, moto…), the string every worker reopens the store from (``store.open_store``).
Credentials and region come from boto3's usual chain (``AWS_ACCESS_KEY_ID``…), on each worker.

- ``put``: one ``PutObject`` (atomic for readers: S3 shows the old object or the new one) with
  the Content-Type of the name and ``Cache-Control`` immutable for ``images/{tag}/…`` (tag-named)
  and the legacy paths, ``public, max-age=60`` otherwise (the same headers as ``doit publish``).
- ``exists``/``size``/``list``: answered from one listing of the prefix, made on first use and
  kept up to date by this instance's own writes (``refresh()`` drops it). A no-op build therefore
  costs one paginated listing, not a request per file; staleness is content-addressed (a tag
  whose render record exists is done), so it needs no database and works from any machine.
- ``link``: a server-side ``CopyObject`` (a legacy path holds the same bytes as its derivative),
  skipped when the key exists with the same size.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, quote, urlsplit

from pipeline.model import layout
from pipeline.model.http import IMMUTABLE, JSON_TYPE


def s3_location(output: str, endpoint: str | None = None) -> str:
    """``output`` (``s3://bucket/prefix``) with ``endpoint`` folded in as ``?endpoint=``."""
    if endpoint and "?" not in output:
        return f"{output}?endpoint={quote(endpoint, safe=':/')}"
    return output


def work_folder(output: str) -> str:
    """The driver's local folder for ``output=s3://bucket/prefix`` (probe cache, doit state,
    staged JSON objects, report): ``s3-work/{bucket}/{prefix}`` under the current folder."""
    parts = urlsplit(output)
    return str(Path("s3-work", parts.netloc, *[p for p in parts.path.split("/") if p]))


class S3Store:
    """A bucket prefix as a ``Store`` (module doc). Raises ``ValueError`` for a location without
    a bucket."""

    def __init__(self, location: str):
        parts = urlsplit(location)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"output={location}: expected s3://bucket/prefix")
        self.location = location
        self.bucket = parts.netloc
        prefix = parts.path.strip("/")
        self.prefix = prefix + "/" if prefix else ""
        self.endpoint = (parse_qs(parts.query).get("endpoint") or [None])[0]
        self._client = None
        self._listing: dict[str, tuple[int, str]] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Store({self.location!r})"

    @property
    def client(self):
        if self._client is None:
            from pipeline.outputs.publish import PublishTarget, s3_client
            self._client = s3_client(PublishTarget(self.bucket, self.prefix, self.endpoint))
        return self._client

    def _key(self, relpath: str) -> str:
        if layout.resolve_inside(Path("/x"), relpath) is None:
            raise ValueError(f"not a path inside the store: {relpath!r}")
        return self.prefix + relpath

    def listing(self) -> dict[str, tuple[int, str]]:
        """{relpath: (size in bytes, ETag)} of every object under the prefix (one listing)."""
        with self._lock:
            if self._listing is None:
                found = {}
                paginator = self.client.get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                    for obj in page.get("Contents", []):
                        found[obj["Key"][len(self.prefix):]] = (obj["Size"], obj["ETag"].strip('"'))
                self._listing = found
            return self._listing

    def refresh(self) -> None:
        """Forget the listing (other processes wrote since it was made)."""
        with self._lock:
            self._listing = None

    @staticmethod
    def headers(relpath: str) -> dict:
        """ContentType and CacheControl for ``relpath`` (the same as ``doit publish``)."""
        from pipeline.outputs.publish import _BY_EXTENSION
        name = relpath.rsplit("/", 1)[-1]
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if ext == "json":
            ctype = JSON_TYPE
        elif ext == "xml":
            ctype = "application/xml; charset=utf-8"
        elif ext == "html":
            ctype = "text/html; charset=utf-8"
        else:
            ctype = _BY_EXTENSION.get(ext, "application/octet-stream")
        immutable = relpath.startswith(layout.IMAGES_DIR + "/") or layout.legacy_owner_and_tag(relpath)
        return {"ContentType": ctype, "CacheControl": IMMUTABLE if immutable else "public, max-age=60"}

    def put(self, relpath: str, data: bytes) -> int:
        response = self.client.put_object(Bucket=self.bucket, Key=self._key(relpath), Body=data,
                                          **self.headers(relpath))
        with self._lock:
            if self._listing is not None:
                self._listing[relpath] = (len(data), response.get("ETag", "").strip('"'))
        return len(data)

    def exists(self, relpath: str) -> bool:
        return relpath in self.listing()

    def size(self, relpath: str) -> int | None:
        """Size in bytes of the object at ``relpath`` (from the listing), None when absent."""
        found = self.listing().get(relpath)
        return found[0] if found else None

    def read(self, relpath: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(relpath))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"{self.location}: no object {relpath}") from None

    def list(self, prefix: str = "") -> Iterator[str]:
        return iter([rel for rel in self.listing() if rel.startswith(prefix)])

    def delete(self, relpath: str) -> bool:
        there = self.exists(relpath)
        self.client.delete_object(Bucket=self.bucket, Key=self._key(relpath))
        with self._lock:
            if self._listing is not None:
                self._listing.pop(relpath, None)
        return there

    def remove_temporaries(self, folder: str) -> int:
        """Nothing to remove: a PUT is atomic on the server, a killed writer leaves no object
        (an unfinished multipart upload is not listed and expires by the bucket's rules)."""
        return 0

    def link(self, source: str, relpath: str) -> bool:
        """Copy the object at ``source`` to ``relpath`` on the server (headers: ``relpath``'s);
        nothing when ``relpath`` already has ``source``'s size, or ``source`` is missing."""
        listing = self.listing()
        if source not in listing or listing.get(relpath, (None,))[0] == listing[source][0]:
            return False
        headers = self.headers(source)
        self.client.copy_object(Bucket=self.bucket, Key=self._key(relpath),
                                CopySource={"Bucket": self.bucket, "Key": self._key(source)},
                                MetadataDirective="REPLACE", ContentType=headers["ContentType"],
                                CacheControl=IMMUTABLE)
        with self._lock:
            if self._listing is not None:
                self._listing[relpath] = listing[source]
        return True
