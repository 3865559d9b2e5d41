"""API token authentication that accepts both `Bearer <token>` and DRF's `Token <token>`, and nothing vaguer."""

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

KEYWORDS = (b"bearer", b"token")
CHALLENGE = 'Bearer realm="MediaHooks", Token realm="MediaHooks"'


class BearerOrTokenAuthentication(TokenAuthentication):
    """Integrators coming from Mux or Strapi send `Bearer`; DRF users send `Token`: both work.

    Any other Authorization header (a bare token, `Basic …`) is refused with 401 instead of being ignored:
    a client that meant to authenticate must not be served silently as anonymous."""

    def authenticate(self, request):
        header = get_authorization_header(request)
        parts = header.split()
        if not parts:
            return None
        if parts[0].lower() not in KEYWORDS:
            raise AuthenticationFailed(
                "Invalid Authorization header: use 'Bearer <token>' or 'Token <token>'."
            )
        if len(parts) == 1:
            raise AuthenticationFailed("Invalid Authorization header: no token given.")
        if len(parts) > 2:
            raise AuthenticationFailed("Invalid Authorization header: the token must not contain spaces.")
        invalid = AuthenticationFailed("Invalid Authorization header: the token has invalid characters.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeError:
            raise invalid from None
        if not key.isprintable():  # a NUL byte would reach the database, and PostgreSQL refuses it with an error
            raise invalid
        return self.authenticate_credentials(key)

    def authenticate_header(self, request) -> str:
        """Both accepted schemes, so a client told 401 learns how to send its token."""
        return CHALLENGE
