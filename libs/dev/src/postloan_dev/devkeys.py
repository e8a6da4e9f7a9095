"""The development key pair's private half: signs `postloan token` and test tokens, never used in production.

Services verify with the public half (postloan_common.settings.DEVELOPMENT_JWT_PUBLIC_KEY), and only
when POSTLOAN_ENV is development or test; this package is not installed in the service images.
"""

from __future__ import annotations

import os

DEVELOPMENT_ONLY_JWT_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIC3VY0yVhLeWkvSoO4M2AqiY+/8c0PITOlztS03un4M9
-----END PRIVATE KEY-----
"""  # committed on purpose, for development only; production refuses its public half


def signing_key() -> str:
    """The private key `postloan token` signs with: POSTLOAN_JWT_PRIVATE_KEY_FILE if set, else the development key."""
    path = os.environ.get("POSTLOAN_JWT_PRIVATE_KEY_FILE")
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    return DEVELOPMENT_ONLY_JWT_PRIVATE_KEY
