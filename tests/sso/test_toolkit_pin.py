"""The validator's copy of django-oauth-toolkit's save (issue 26): ``save_bearer_token``
writes a code exchange's first token pair itself (``_save_first_pair``, bench/sso.py), the
way the toolkit's own save does. pyproject.toml pins the toolkit to a minor version, and
this test fails when the code that copy mirrors changes shape: read the toolkit's new
save, make ``_save_first_pair`` write what it writes, then record the new digests."""

from __future__ import annotations

import hashlib
import inspect

from oauth2_provider.oauth2_validators import OAuth2Validator

# The toolkit's methods whose rows _save_first_pair writes (django-oauth-toolkit 3.4.1).
MIRRORED = {
    "save_bearer_token":
        "8c29620f26f8e1cd0f1bf4501979e530ead4ace7bf22ca56c4275289f7f7712c",
    "_create_access_token":
        "b9b36b168ac8ba464970453fa934c706990a808ddf01b1bf9df2acc96de09358",
    "_create_refresh_token":
        "eca3713cacfd672bf15e38521c2c80511e790689cbf08458dd09db32ce7001e0",
}


def digest(name: str) -> str:
    source = inspect.getsource(getattr(OAuth2Validator, name))
    return hashlib.sha256(source.encode()).hexdigest()


def test_the_toolkits_save_still_has_the_shape_the_validator_copies() -> None:
    changed = {name: digest(name) for name, expected in MIRRORED.items()
               if digest(name) != expected}
    assert not changed, (
        "django-oauth-toolkit's token save changed: check sso/validator.py "
        f"_save_first_pair against it, then record these digests: {changed}")
