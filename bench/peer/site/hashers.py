from django.contrib.auth.hashers import Argon2PasswordHasher


class SameArgon2(Argon2PasswordHasher):
    """loginguard's parameters (OWASP's Argon2id minimum): m=19 MiB, t=2, p=1."""

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
