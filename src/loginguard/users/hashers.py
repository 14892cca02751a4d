import hashlib
from typing import Any

from django.contrib.auth.hashers import Argon2PasswordHasher, BasePasswordHasher, mask_hash
from django.utils.crypto import constant_time_compare


class LoginguardArgon2Hasher(Argon2PasswordHasher):
    """Argon2id with OWASP's recommended minimum: m=19 MiB, t=2, p=1 (SPEC §9).

    Keeps the algorithm name "argon2" so hashes made with other parameters are
    recognised and upgraded at the next successful sign-in."""

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1


class RandomSecretHasher(BasePasswordHasher):
    """Salted SHA-256 for machine-made secrets with 256+ bits of randomness (OAuth client
    secrets, sso.services): nobody can guess such a secret, so a slow hash buys nothing and
    would cost an Argon2 verify on every token request. Never used for passwords: it is
    last in PASSWORD_HASHERS, so nothing is ever hashed with it by default."""

    algorithm = "sha256_random"

    def encode(self, password: str, salt: str) -> str:
        if password is None or not salt or "$" in salt:
            raise ValueError("a password and a salt without '$' are required")
        digest = hashlib.sha256(f"{salt}${password}".encode()).hexdigest()
        return f"{self.algorithm}${salt}${digest}"

    def decode(self, encoded: str) -> dict[str, Any]:
        algorithm, salt, digest = encoded.split("$", 2)
        assert algorithm == self.algorithm
        return {"algorithm": algorithm, "hash": digest, "salt": salt}

    def verify(self, password: str, encoded: str) -> bool:
        decoded = self.decode(encoded)
        return constant_time_compare(encoded, self.encode(password, decoded["salt"]))

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        decoded = self.decode(encoded)
        return {"algorithm": decoded["algorithm"], "salt": mask_hash(decoded["salt"]),
                "hash": mask_hash(decoded["hash"])}

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass
