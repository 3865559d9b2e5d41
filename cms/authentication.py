"""API token authentication that accepts both `Bearer <token>` and DRF's `Token <token>`."""

from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

KEYWORDS = (b"bearer", b"token")


class BearerOrTokenAuthentication(TokenAuthentication):
    """Integrators coming from Mux or Strapi send `Bearer`; DRF users send `Token`: both work."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
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
        return 'Bearer realm="MediaHooks"'
