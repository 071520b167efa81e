"""Where attachment bytes live: a local folder (default, under ``instance/``) or S3-compatible
object storage (boto3: AWS, MinIO, Alibaba OSS, Tencent COS) once ``STORAGE_S3_BUCKET`` is
set. Attachment keys are content-addressed (rules.attachments.storage_key), so a key once written
never changes: ``put_file`` of an existing key is a no-op. Generated files (the jobs' exports
and workbooks, issue 13) live under ``jobs/<job id>/<random>/`` and are deleted after their
time (``delete``), so that any web host can hand out what another host's worker made.

Streaming both ways: ``put_file`` sends a file from disk (S3: multipart above 8 MB),
``open`` yields chunks; nothing holds a whole file in memory. Every failure of the backend
is a :class:`StorageError`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app

CHUNK = 256 * 1024


class StorageError(RuntimeError):
    """The storage backend could not store or read a file (down, refused, missing)."""


@dataclass
class Stored:
    size: int
    chunks: Iterator[bytes]


class LocalStorage:
    """Files under ``root``/<key>, written through a temporary name and renamed."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    def _path(self, key: str) -> str:
        path = os.path.abspath(os.path.join(self.root, key))
        if not path.startswith(self.root + os.sep):
            raise StorageError(f"key outside the storage folder: {key!r}")
        return path

    def temp_dir(self) -> str:
        """Where uploads are spooled before they are checked and stored."""
        path = os.path.join(self.root, "tmp")
        os.makedirs(path, exist_ok=True)
        return path

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def put_file(self, key: str, path: str, content_type: str) -> None:
        target = self._path(key)
        if os.path.isfile(target):
            return
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            fd, partial = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".part")
            os.close(fd)
            try:
                shutil.copyfile(path, partial)
                os.replace(partial, target)
            finally:
                if os.path.exists(partial):
                    os.unlink(partial)
        except OSError as err:
            raise StorageError(f"cannot write {key}: {err}") from err

    def open(self, key: str) -> Stored:
        path = self._path(key)
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed by the generator)
        except OSError as err:
            raise StorageError(f"cannot read {key}: {err}") from err
        size = os.fstat(handle.fileno()).st_size

        def chunks():
            with handle:
                while block := handle.read(CHUNK):
                    yield block
        return Stored(size, chunks())

    def delete(self, key: str) -> None:
        """Remove a file (generated files after their time; attachments never)."""
        try:
            os.unlink(self._path(key))
        except FileNotFoundError:
            return
        except OSError as err:
            raise StorageError(f"cannot delete {key}: {err}") from err


class S3Storage:
    """Objects in ``bucket`` under ``prefix``; any S3-compatible endpoint."""

    def __init__(self, bucket: str, *, endpoint_url=None, region=None, access_key=None,
                 secret_key=None, prefix: str = "", timeout: int = 10):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket = bucket
        # Multipart above 8 MB, two 8 MB parts in flight at most: memory stays bounded.
        self.transfer = TransferConfig(multipart_threshold=8 * 1024 * 1024,
                                       multipart_chunksize=8 * 1024 * 1024, max_concurrency=2)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url, region_name=region or "us-east-1",
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(connect_timeout=timeout, read_timeout=timeout,
                          retries={"max_attempts": 2, "mode": "standard"},
                          s3={"addressing_style": "path"}))

    def _key(self, key: str) -> str:
        return self.prefix + key

    def temp_dir(self) -> str | None:
        return None  # the system's temporary folder

    def _errors(self):
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError
        return (BotoCoreError, ClientError, Boto3Error)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
            return True
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"cannot reach the object storage: {err}") from err
        except self._errors() as err:
            raise StorageError(f"cannot reach the object storage: {err}") from err

    def put_file(self, key: str, path: str, content_type: str) -> None:
        if self.exists(key):
            return
        try:
            self.client.upload_file(path, self.bucket, self._key(key),
                                    ExtraArgs={"ContentType": content_type},
                                    Config=self.transfer)
        except self._errors() as err:
            raise StorageError(f"cannot store {key}: {err}") from err

    def open(self, key: str) -> Stored:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors() as err:
            raise StorageError(f"cannot read {key}: {err}") from err
        body = obj["Body"]

        def chunks():
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()
        return Stored(int(obj.get("ContentLength") or 0), chunks())

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors() as err:
            raise StorageError(f"cannot delete {key}: {err}") from err


def make_storage(config) -> LocalStorage | S3Storage:
    if config.get("STORAGE_S3_BUCKET"):
        return S3Storage(config["STORAGE_S3_BUCKET"],
                         endpoint_url=config.get("STORAGE_S3_ENDPOINT_URL"),
                         region=config.get("STORAGE_S3_REGION"),
                         access_key=config.get("STORAGE_S3_ACCESS_KEY"),
                         secret_key=config.get("STORAGE_S3_SECRET_KEY"),
                         prefix=config.get("STORAGE_S3_PREFIX") or "",
                         timeout=int(config.get("STORAGE_S3_TIMEOUT") or 10))
    root = config.get("STORAGE_LOCAL_DIR") or os.path.join(current_app.instance_path,
                                                           "attachments")
    return LocalStorage(root)


def storage():
    """The app's storage backend (made once per app)."""
    backend = current_app.extensions.get("desk_storage")
    if backend is None:
        backend = current_app.extensions["desk_storage"] = make_storage(current_app.config)
    return backend

