from django.contrib.auth.hashers import Argon2PasswordHasher


class LoginguardArgon2Hasher(Argon2PasswordHasher):
    """Argon2id with OWASP's recommended minimum: m=19 MiB, t=2, p=1 (SPEC §9).

    Keeps the algorithm name "argon2" so hashes made with other parameters are
    recognised and upgraded at the next successful sign-in."""

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
