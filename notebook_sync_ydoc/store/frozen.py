"""Read-only JSON containers for what the embedded store hands out on every read.

A stored cell's ``metadata`` and ``outputs`` (up to 256 KiB) used to be deep-copied on every
``get_cell``, so that no caller could change the store's record through them. They are now frozen
once, when written (:func:`freeze`: a deep copy whose dicts and lists refuse every change), and
every read hands out the same objects. A caller that changes one gets a ``TypeError`` at once
instead of silently changing the store; ``copy.copy``/``copy.deepcopy``/``dict(...)`` give
ordinary, changeable containers. They are ``dict``/``list`` subclasses, so ``json`` encodes them
and ``==``/``isinstance`` work as before.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["FrozenDict", "FrozenList", "freeze", "is_frozen", "thaw"]

_MESSAGE = "a stored record's metadata and outputs are read-only; change a copy (copy.deepcopy)"


def _refuse(self: object, *args: object, **kwargs: object) -> NoReturn:
    raise TypeError(_MESSAGE)


class FrozenDict(dict[str, Any]):
    """A dict that refuses changes (see the module docstring)."""

    __slots__ = ()

    __setitem__ = _refuse
    __delitem__ = _refuse
    __ior__ = _refuse
    clear = _refuse
    pop = _refuse
    popitem = _refuse
    setdefault = _refuse
    update = _refuse

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        out: dict[str, Any] = thaw(self)
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        return (dict, (thaw(self),))


class FrozenList(list[Any]):
    """A list that refuses changes (see the module docstring)."""

    __slots__ = ()

    __setitem__ = _refuse
    __delitem__ = _refuse
    __iadd__ = _refuse
    __imul__ = _refuse
    append = _refuse
    extend = _refuse
    insert = _refuse
    pop = _refuse
    remove = _refuse
    clear = _refuse
    sort = _refuse
    reverse = _refuse

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        out: list[Any] = thaw(self)
        return out

    def __reduce__(self) -> tuple[Any, ...]:
        return (list, (thaw(self),))


def freeze(value: Any) -> Any:
    """A deep copy of a JSON value whose dicts and lists are frozen (frozen parts are shared:
    they cannot change)."""
    if isinstance(value, (FrozenDict, FrozenList)):
        return value
    if isinstance(value, dict):
        return FrozenDict({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return FrozenList([freeze(item) for item in value])
    if isinstance(value, tuple):
        return tuple(freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A deep copy of a JSON value as ordinary dicts and lists."""
    if isinstance(value, dict):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [thaw(item) for item in value]
    return value


def is_frozen(value: object) -> bool:
    return isinstance(value, (FrozenDict, FrozenList))
