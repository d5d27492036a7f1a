"""Runs one `file_editor` or `search` call inside a container, with the very code the local workspace runs.

`DockerEnvironment` copies this module and the stdlib-only tool modules it imports into the container and runs
it there with a Python >= 3.10 and no site-packages: `python -S -E -B -m comem.environment.docker.tool_runner
REQUEST`. The request names the tool, its arguments, the repository root and a state file; the reply is one JSON
line. The editor's undo history lives in the state file, so it survives between calls as in a local workspace.
Tool errors are returned by kind, so the host turns them into the same observations as for a local workspace.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any

from comem.environment.file_editor import FileEditor
from comem.environment.search import search
from comem.environment.tools import ToolArgumentError, ToolError


def _editor(state: Path, root: Path) -> FileEditor:
    if state.is_file():
        with state.open("rb") as handle:
            return pickle.load(handle)  # written by this module, in a directory only the environment uses
    return FileEditor(root)


def _save(editor: FileEditor, state: Path) -> None:
    partial = state.with_suffix(".tmp")
    with partial.open("wb") as handle:
        pickle.dump(editor, handle)
    partial.replace(state)


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """{"tool", "arguments", "root", "state"} -> {"status": ok|argument|tool|os, "output"}."""
    root, arguments = Path(request["root"]), request["arguments"]
    try:
        if request["tool"] == "file_editor":
            state = Path(request["state"])
            editor = _editor(state, root)
            try:
                output = editor.run(arguments)
            finally:
                _save(editor, state)
        else:
            output = search(root, arguments["search_term"], arguments["path"])
    except ToolArgumentError as error:
        return {"status": "argument", "output": str(error)}
    except ToolError as error:
        return {"status": "tool", "output": str(error)}
    except OSError as error:
        return {"status": "os", "output": str(error.strerror or error), "errno": error.errno or 0,
                "filename": error.filename}
    return {"status": "ok", "output": output}


def main() -> None:
    path = Path(sys.argv[1])
    request = json.loads(path.read_text(encoding="utf-8"))
    path.unlink()
    sys.stdout.write(json.dumps(handle(request)) + "\n")


if __name__ == "__main__":
    main()
