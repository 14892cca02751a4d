"""The URL prefixes that middleware and views test before routing (defined once)."""

API_PREFIX = "/api/"  # the JSON API: bearer tokens, no cookies, JSON errors
API_V1_PREFIX = "/api/v1/"  # its version 1: every route needs a token but the docs
API_PUBLIC = ("/api/v1/openapi.json", "/api/v1/docs")
FORWARD_PATH = "/auth/forward"  # a reverse proxy's sub-request (SPEC §12)
