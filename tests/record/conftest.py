from tests.security.conftest import signed_in, unlock

__all__ = ["signed_in", "unlock"]
