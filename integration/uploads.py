"""Limits on what a browser may send: an uploaded file over PARITY_MAX_UPLOAD_BYTES is refused by
name before it is read, and a request body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (or with
too many fields or files) gets a page that says so, with 413 or 400, instead of a bare error.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def size_text(size: int) -> str:
    """Bytes for people: "512 bytes", "20 KB", "5 MB", "6.2 MB"."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            value = f"{size / scale:.1f}".removesuffix(".0")
            return f"{value} {unit}"
    return f"{size} bytes"


def too_large(upload: UploadedFile) -> str | None:
    """Why this file is refused for its size, naming it and the limit; None when it is within."""
    limit = settings.PARITY_MAX_UPLOAD_BYTES
    if upload.size is None or upload.size <= limit:
        return None
    return (
        f"{upload.name} is {size_text(upload.size)}, over the {size_text(limit)} limit "
        "for an uploaded file"
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: Django raises these while reading a request body, before any view runs."""
    status, problem = 400, "The request could not be read."
    if isinstance(exception, RequestDataTooBig):
        status = 413
        problem = (
            "What was sent is larger than the "
            f"{size_text(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)} a form may send."
        )
    elif isinstance(exception, TooManyFieldsSent):
        problem = f"The form sent more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields."
    elif isinstance(exception, TooManyFilesSent):
        problem = f"The form sent more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files."
    context = {"status": status, "problem": problem}
    return render(request, "request_refused.html", context, status=status)
