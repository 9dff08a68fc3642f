"""Prints the folder of Google's discovery documents shipped by google-api-python-client."""

import pathlib

import googleapiclient

print(pathlib.Path(googleapiclient.__file__).parent / "discovery_cache" / "documents")
