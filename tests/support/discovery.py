"""Google's discovery documents (the copies google-api-python-client ships, which the emulator
also checks requests against): enum names come from there, not from lists copied into tests."""

import functools
import json
import pathlib

from tests.support.emulator import discovery_dir


@functools.cache
def document(api: str = "container.v1") -> dict:
    return json.loads((pathlib.Path(discovery_dir()) / f"{api}.json").read_text())


def enum(schema: str, field: str, api: str = "container.v1") -> list:
    """The names of enum `schema.field`, in the order of their numbers."""
    return document(api)["schemas"][schema]["properties"][field]["enum"]


def enum_name(schema: str, field: str, value, api: str = "container.v1") -> str:
    """`value` of enum `schema.field` as its name: Google's JSON mapping allows the name or
    the number, and the official clients send numbers."""
    return value if isinstance(value, str) else enum(schema, field, api)[value]
