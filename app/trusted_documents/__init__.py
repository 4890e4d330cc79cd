"""Trusted-documents manifests: read from a file or URL, parsed in either format, checked against the schema.

The request-time policy (enforce or allow unlisted documents) is ``app.web.trusted_documents``.
"""

from app.trusted_documents.checks import check_documents
from app.trusted_documents.manifest import Manifest, ManifestError, TrustedDocument, sha256_of
from app.trusted_documents.source import ManifestSourceError, read_manifest

__all__ = [
    "Manifest",
    "ManifestError",
    "ManifestSourceError",
    "TrustedDocument",
    "check_documents",
    "read_manifest",
    "sha256_of",
]
