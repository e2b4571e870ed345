#!/usr/bin/env python3
"""How pywbem reads instance paths, for the cross-check of cimdb's InstancePath.parse.

Usage:
    python instance_paths.py CORPUS.txt

CORPUS.txt holds one path per line (UTF-8). Lines that are empty or start with "#" are
skipped; a line's text is taken as is (no trimming), without its LF. For every path the script
prints one JSON object on a line, in corpus order:

    {"line": 7, "path": "...", "ok": true, "classname": "C", "namespace": null, "host": null,
     "keybindings": [{"name": "K", "type": "str", "value": "v"}, ...], "warnings": [...]}
    {"line": 8, "path": "...", "ok": false, "error": "ValueError: ..."}

Key bindings are listed in pywbem's order (the NocaseDict keeps insertion order; a repeated key
replaces the earlier value and keeps the earlier position). Types and values:

    str        value: the string (a char16 key comes back as a str of length 1: pywbem's
               untyped WBEM URI reader gives char16 values type str)
    int        value: the decimal digits as a string (Python ints are unbounded)
    float      value: repr() of the float ("inf", "nan" included)
    bool       value: true/false
    datetime   value: str() of the CIMDateTime (pywbem turns every quoted value that parses
               as a CIM datetime into one)
    reference  value: the nested CIMInstanceName as an object like the top-level one
               (pywbem turns every quoted value that parses as an instance path into one —
               DSP0207 untyped paths cannot tell a string key from a reference key)

Needs pywbem (1.9 was used): /opt/cimxml-venv/bin/python.
"""

import json
import sys
import warnings

try:
    import pywbem
except ImportError:  # pragma: no cover
    sys.exit("pywbem is not installed for this interpreter (try /opt/cimxml-venv/bin/python)")


def describe_value(value):
    # bool before int: bool is a subclass of int in Python.
    if isinstance(value, bool):
        return {"type": "bool", "value": value}
    if isinstance(value, int):
        return {"type": "int", "value": str(value)}
    if isinstance(value, float):
        return {"type": "float", "value": repr(value)}
    if isinstance(value, pywbem.CIMInstanceName):
        return {"type": "reference", "value": describe_path(value)}
    if isinstance(value, pywbem.CIMDateTime):
        return {"type": "datetime", "value": str(value)}
    if isinstance(value, str):
        return {"type": "str", "value": value}
    return {"type": type(value).__name__, "value": repr(value)}


def describe_path(path):
    return {
        "classname": path.classname,
        "namespace": path.namespace,
        "host": path.host,
        "keybindings": [dict(name=name, **describe_value(value)) for name, value in path.keybindings.items()],
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8", newline="\n") as corpus:
        lines = corpus.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, text in enumerate(lines, start=1):
        if text == "" or text.startswith("#"):
            continue
        record = {"line": number, "path": text}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = pywbem.CIMInstanceName.from_wbem_uri(text)
            except Exception as error:  # ValueError, but report whatever pywbem raises
                record.update(ok=False, error=f"{type(error).__name__}: {error}")
            else:
                record.update(ok=True, **describe_path(result))
        record["warnings"] = [str(w.message) for w in caught]
        print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main()
