"""Build hook: ship every released template version as a git bundle inside the wheel."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLE = Path("src/oauthgen/_template/template.bundle")


class TemplateBundleHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "editable":
            return  # a source checkout builds its bundle at run time
        root = Path(self.root)
        bundle = root / BUNDLE
        if (root / ".git").exists():
            _bundle_module(root).build_bundle(root, bundle)
        elif not bundle.is_file():
            raise RuntimeError(f"neither git history nor a prebuilt {BUNDLE}: build from a git checkout or an sdist")
        if self.target_name == "wheel":
            build_data["force_include"][str(root / "copier.yml")] = "oauthgen/_template/copier.yml"


def _bundle_module(root: Path) -> Any:
    # Loaded by path: importing the oauthgen package needs it installed, and it is not yet.
    spec = importlib.util.spec_from_file_location("_oauthgen_bundle", root / "src/oauthgen/bundle.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
