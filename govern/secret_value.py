"""Secret values as a type: nothing that prints, logs or serialises one can reveal it."""

from __future__ import annotations

import hmac


class SecretValue:
    """Wraps a token, password or seed; only .reveal() gives the value back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, SecretValue):
            value = value.reveal()
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretValue('**********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("SecretValue", len(self._value)))

    def __reduce__(self):
        raise TypeError("a SecretValue cannot be pickled or sent in a task message")

    def __getstate__(self):
        raise TypeError("a SecretValue cannot be serialised")
