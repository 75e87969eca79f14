#!/usr/bin/env python3
"""Checks that every #include keeps the house's layers (docs/ARCHITECTURE.md).

The layers and what each may include come from the `evmesh_layer(NAME ...
DEPS ... PUBLIC_HEADERS ...)` call in each folder's CMakeLists.txt, the same
lines the build uses (cmake/layers.cmake), so the two cannot disagree. A file
in a layer folder may include:
  - its own folder's headers;
  - the headers of the layers its DEPS name, except their private ones
    (a header under another folder's detail/ is that folder's business);
  - the public headers (<evmesh/...>) that its layer or its DEPS list.
tests/, bench/ and examples/ sit above every layer: they may include any
layer's public headers, and tests/ may reach private ones too (a unit test
tests its folder's internals).
Exits 1 after naming each file and line that breaks a rule.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYER_CALL = re.compile(r"evmesh_layer\((\w+)(.*?)\)", re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
KEYWORDS = ("SOURCES", "DEPS", "LIBS", "PUBLIC_HEADERS")


def read_layers():
    layers = {}
    for cmake in sorted(ROOT.glob("*/CMakeLists.txt")):
        for name, args in LAYER_CALL.findall(cmake.read_text()):
            words = re.sub(r"#.*", "", args).split()
            parts, key = {k: [] for k in KEYWORDS}, None
            for w in words:
                if w in KEYWORDS:
                    key = w
                elif key:
                    parts[key].append(w)
            layers[name] = {"deps": parts["DEPS"], "headers": set(parts["PUBLIC_HEADERS"])}
    for name, layer in layers.items():  # public headers a layer sees: its own and its DEPS'
        seen = set(layer["headers"])
        for dep in layer["deps"]:
            seen |= layers[dep]["headers"]
        layer["visible_headers"] = seen
    return layers


def check_file(path, folder, layers, problems):
    rel = path.relative_to(ROOT)
    layer = layers.get(folder)
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        m = INCLUDE.match(line)
        if not m:
            continue
        kind, target = m.groups()
        where = f"{rel}:{number}"
        if kind == "<":
            if layer and target.startswith("evmesh/") and target not in layer["visible_headers"]:
                problems.append(f"{where}: includes <{target}>, a public header above the {folder} layer")
            continue
        top = target.split("/", 1)[0]
        if top not in layers or top == folder:
            continue
        if layer and top not in layer["deps"]:
            problems.append(f"{where}: includes \"{target}\": {top}/ is not below {folder}/ "
                            f"(it may include {', '.join(layer['deps']) or 'no other layer'})")
        elif "/detail/" in target and folder != "tests":
            problems.append(f"{where}: includes \"{target}\", a private header of {top}/")


def main():
    layers = read_layers()
    if not layers:
        print("check-layers: no evmesh_layer() calls found", file=sys.stderr)
        return 1
    problems = []
    for folder in list(layers) + ["tests", "bench", "examples"]:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".cpp", ".hpp", ".in") and "node_modules" not in path.parts:
                check_file(path, folder, layers, problems)
    for p in problems:
        print(p)
    order = " -> ".join(sorted(layers, key=lambda n: len(layers[n]["deps"])))
    if problems:
        print(f"check-layers: {len(problems)} include(s) break the layers ({order})")
        return 1
    print(f"check-layers: every include keeps the layers ({order})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
