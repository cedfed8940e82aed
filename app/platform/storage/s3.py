"""S3 (boto3): presigned POSTs and GETs, bounded timeouts and retries.

boto3 and botocore are imported here, at the top: this module itself is loaded only when
``S3_BUCKET`` is set (see :func:`app.platform.storage.get_storage`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import IO, Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.platform.storage.base import (
    CHUNK_BYTES,
    StorageUnavailable,
    content_disposition,
    expires_at,
)

log = logging.getLogger(__name__)


class S3Storage:
    """A bucket reached through one cached boto3 client (clients are thread-safe)."""

    def __init__(self, *, bucket: str, region: str, endpoint_url: str | None = None) -> None:

        self.bucket = bucket
        config = Config(
            signature_version="s3v4",
            connect_timeout=2,
            read_timeout=3,
            # Two attempts in all: botocore's ``max_attempts`` counts retries *after* the first
            # try (2 would mean 3 x 3 s against a silent endpoint, past the 8 s budget).
            retries={"total_max_attempts": 2, "mode": "standard"},
        )
        # Credentials come from the standard AWS chain (env, profile, instance role).
        try:
            self._session = session = boto3.session.Session()
            self.client = session.client(
                "s3", region_name=region, endpoint_url=endpoint_url, config=config
            )
        except Exception as exc:  # a bad endpoint URL or region: storage is down, not the API
            log.error("cannot build the S3 client: %s", exc)
            raise StorageUnavailable() from exc

    def _require_credentials(self) -> None:
        # Presigning happens locally; without credentials botocore fails with an AttributeError.
        if self._session.get_credentials() is None:
            log.error("no AWS credentials found in the standard chain")
            raise StorageUnavailable()

    def _call(self, operation: str, **params: Any) -> Any:

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except ClientError:
            raise
        except BotoCoreError as exc:
            log.warning("storage %s failed: %s", operation, exc)
            raise StorageUnavailable() from exc

    @staticmethod
    def _status(exc: Exception) -> int:
        return int(
            getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        )

    def _unavailable(self, operation: str, exc: Exception) -> StorageUnavailable:
        log.warning("storage %s failed: %s", operation, exc)
        return StorageUnavailable()

    def presigned_post(
        self, key: str, content_type: str, max_bytes: int, expires_seconds: int
    ) -> dict:
        """A presigned POST with ``content-length-range`` and ``Content-Type`` conditions."""

        self._require_credentials()
        try:
            post = self.client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, int(max_bytes)],
                ],
                ExpiresIn=int(expires_seconds),
            )
        except BotoCoreError as exc:  # no credentials, for example
            raise self._unavailable("presigned_post", exc) from exc
        return {
            "method": "POST",
            "url": post["url"],
            "fields": post["fields"],
            "expires_at": expires_at(expires_seconds),
        }

    def head(self, key: str) -> int | None:
        """Size of the object, or None when missing."""

        try:
            response = self._call("head_object", Key=key)
        except ClientError as exc:
            if self._status(exc) == 404:
                return None
            raise self._unavailable("head_object", exc) from exc
        return int(response["ContentLength"])

    def _get(self, key: str, **params: Any) -> bytes:

        try:
            response = self._call("get_object", Key=key, **params)
            return response["Body"].read()
        except ClientError as exc:
            if self._status(exc) == 416:  # range on an empty object
                return b""
            raise self._unavailable("get_object", exc) from exc
        except BotoCoreError as exc:  # a read timeout while streaming the body
            raise self._unavailable("get_object", exc) from exc

    def read_prefix(self, key: str, n: int) -> bytes:
        """First ``n`` bytes through a ranged GET."""
        return self._get(key, Range=f"bytes=0-{max(n, 1) - 1}")[:n]

    def read(self, key: str) -> bytes:
        """The whole object."""
        return self._get(key)

    def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """One PUT."""

        try:
            self._call("put_object", Key=key, Body=data, ContentType=content_type)
        except ClientError as exc:
            raise self._unavailable("put_object", exc) from exc

    def put_file(self, key: str, path_or_fileobj: str | os.PathLike | IO[bytes], content_type: str):
        """Managed transfer: multipart above boto3's threshold."""

        extra = {"ContentType": content_type}
        try:
            if isinstance(path_or_fileobj, str | os.PathLike):
                self.client.upload_file(
                    os.fspath(path_or_fileobj), self.bucket, key, ExtraArgs=extra
                )
            else:
                self.client.upload_fileobj(path_or_fileobj, self.bucket, key, ExtraArgs=extra)
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise self._unavailable("upload", exc) from exc

    def copy(self, source_key: str, target_key: str) -> None:
        """Server-side copy; the bytes never pass through the app."""

        try:
            self._call(
                "copy_object",
                Key=target_key,
                CopySource={"Bucket": self.bucket, "Key": source_key},
                MetadataDirective="COPY",
            )
        except ClientError as exc:
            raise self._unavailable("copy_object", exc) from exc

    def delete(self, key: str) -> None:
        """S3 deletes are idempotent already."""

        try:
            self._call("delete_object", Key=key)
        except ClientError as exc:
            if self._status(exc) == 404:
                return
            raise self._unavailable("delete_object", exc) from exc

    def signed_get_url(
        self,
        key: str,
        expires_seconds: int,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        outside_request: bool = False,
    ) -> str:
        """A presigned GET (SigV4, computed locally: no request to S3)."""

        params: dict[str, str] = {"Bucket": self.bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if content_type:
            params["ResponseContentType"] = content_type
        self._require_credentials()
        try:
            return self.client.generate_presigned_url(
                "get_object", Params=params, ExpiresIn=int(expires_seconds)
            )
        except BotoCoreError as exc:
            raise self._unavailable("presign_get", exc) from exc

    def open_stream(self, key: str) -> Iterator[bytes]:
        """Chunks of the object."""

        try:
            body = self._call("get_object", Key=key)["Body"]
        except ClientError as exc:
            raise self._unavailable("get_object", exc) from exc

        def chunks() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK_BYTES)
            except BotoCoreError as exc:
                raise self._unavailable("get_object", exc) from exc
            finally:
                body.close()

        return chunks()
