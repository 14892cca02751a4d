"""Token format of SPEC §6 (GitHub's pattern): ``lgp_`` + 32 random base62 characters +
the CRC32 of those 32 characters in base62, zero-padded to 6. A leaked token is
recognisable by its prefix; a typo fails the checksum without a database query."""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PREFIX = "lgp_"
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
TOKEN_LENGTH = len(PREFIX) + BODY_LENGTH + CHECKSUM_LENGTH  # 42
DISPLAY_PREFIX_LENGTH = len(PREFIX) + 6  # what lists show: "lgp_AbC123"


def base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(ALPHABET[rest])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(body: str) -> str:
    return base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return PREFIX + body + checksum(body)


_SHAPE = re.compile(rf"{PREFIX}[0-9A-Za-z]{{{BODY_LENGTH + CHECKSUM_LENGTH}}}", re.ASCII)


def well_formed(token: str) -> bool:
    """Prefix, length, alphabet and checksum: everything that needs no database."""
    if not _SHAPE.fullmatch(token):
        return False
    body, check = token[len(PREFIX):-CHECKSUM_LENGTH], token[-CHECKSUM_LENGTH:]
    return secrets.compare_digest(checksum(body), check)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()
