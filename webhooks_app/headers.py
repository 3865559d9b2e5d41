"""Which of a webhook's extra headers hold credentials, and how they are shown: one rule (SPEC §11) for the API,
the admin, the logs and the stored attempts. Values of credential-like headers are shown only in the create
answer, and masked everywhere after; a masked value echoed back by a client (GET, edit, PUT) keeps the stored one."""

import re

MASK = "••••••"
CREDENTIAL_NAME = re.compile(r"authorization|cookie|token|secret|key|auth|session|password", re.IGNORECASE)


class MaskedValueError(ValueError):
    """A masked value was sent for a header that has no stored value to keep."""


def is_credential(name: str) -> bool:
    """`Authorization`, `Cookie`, and any name containing token, secret, key, auth, session or password."""
    return bool(CREDENTIAL_NAME.search(name))


def masked(headers: dict[str, str]) -> dict[str, str]:
    """The headers as shown after creation: the values of credential-like ones replaced by MASK."""
    return {name: (MASK if is_credential(name) else value) for name, value in headers.items()}


def keep_masked(incoming: dict, stored: dict[str, str]) -> dict:
    """`incoming` with every masked credential value replaced by the stored value of that header (names compared
    without case, as HTTP does), so echoing a masked answer back never stores the mask. Raises
    MaskedValueError naming a header sent masked that has no stored value."""
    by_name = {name.lower(): value for name, value in stored.items()}
    merged = {}
    for name, value in incoming.items():
        if value == MASK and isinstance(name, str) and is_credential(name):
            if name.lower() not in by_name:
                raise MaskedValueError(f"The value of {name} is the mask {MASK}; send the real value.")
            value = by_name[name.lower()]
        merged[name] = value
    return merged
