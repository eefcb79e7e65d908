"""Index a function app with the real Python worker and print its metadata as JSON.

Run in a fresh interpreter, as the worker does:  python -m tools.host_check.index APP_DIR
"""

from __future__ import annotations

import json
import os
import sys


def index(app_dir: str) -> list[dict]:
    from azure_functions_runtime import loader
    from azure_functions_runtime.bindings.meta import load_binding_registry
    from azure_functions_runtime.functions import Registry

    from tools.host_check import worker_protos

    app_dir = os.path.abspath(app_dir)
    sys.path.insert(0, app_dir)
    load_binding_registry()
    functions = loader.index_function_app(os.path.join(app_dir, "function_app.py"))
    metadata, _ = loader.process_indexed_function(worker_protos, Registry(), functions, app_dir)
    return [
        {
            "name": m.name,
            "entry_point": m.entry_point,
            "script_file": m.script_file,
            "bindings": [json.loads(raw) for raw in m.raw_bindings],
        }
        for m in metadata
    ]


if __name__ == "__main__":
    json.dump(index(sys.argv[1] if len(sys.argv) > 1 else "."), sys.stdout, indent=2)
