"""The app's request body limits, read from their one definition in crates/http/src/lib.rs,
for the checks of what stands in front of it (scripts/lib/check_nginx_edge.py, the
Ingresses in scripts/lib/check_kubernetes.py): an edge that refuses less than the app
accepts breaks clients; one that lets more through makes a replica read it for nothing."""

import os
import re

HTTP_LIB_SRC = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "http", "src", "lib.rs")


def body_limit(name):
    """`pub const NAME: usize = 64 * 1024 * 1024;` in crates/http/src/lib.rs, in bytes."""
    with open(HTTP_LIB_SRC) as f:
        m = re.search(rf"const {name}: usize = ([\d\s*_]+);", f.read())
    if m is None:
        raise SystemExit(f"{HTTP_LIB_SRC}: no `const {name}: usize = <product>;`")
    product = 1
    for factor in m.group(1).replace("_", "").split("*"):
        product *= int(factor)
    return product
