#!/usr/bin/env python3
"""Validates TOML scenario files against bloodsim's JSON Schema, as an editor's TOML language
server would: TOML dates and times become ISO 8601 strings, everything else maps as is.

usage: check.py SCHEMA.json FILE.toml...   (exit 0 all valid, 1 invalid, 3 missing module)
"""
import datetime
import json
import sys
import tomllib

try:
    import jsonschema
except ImportError:
    print("schema-check: the Python module jsonschema is missing (pip install jsonschema)", file=sys.stderr)
    sys.exit(3)


def plain(value):
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    failed = 0
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            document = plain(tomllib.load(f))
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        for e in errors:
            where = ".".join(str(p) for p in e.path) or "(top level)"
            print(f"{path}: {where}: {e.message}", file=sys.stderr)
        failed += bool(errors)
        if not errors:
            print(f"{path}: valid")
    sys.exit(1 if failed else 0)


main()
