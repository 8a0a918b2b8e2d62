"""Shared by every stage: the one error type and its limits (errors), atomic output files and
output-folder manifests (fsio), YAML reading with file/field/value errors (yamlio), and the
matching of names a user types (names). Nothing here knows about layers or hardware."""
