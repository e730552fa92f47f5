"""Path fields for configuration models: relative to the config file, checked on load."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo


def _relative_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir", Path.cwd())
    return value if value.is_absolute() else (base / value)


def _existing_file(value: Path) -> Path:
    if not value.exists():
        raise ValueError(f"file not found: {value}")
    if not value.is_file():
        raise ValueError(f"not a file: {value}")
    return value


def _folder(value: Path) -> Path:
    if value.exists() and not value.is_dir():
        raise ValueError(f"not a folder: {value}")
    return value


OutputDir = Annotated[Path, AfterValidator(_relative_path), AfterValidator(_folder)]
RelPath = Annotated[Path, AfterValidator(_relative_path)]
InputFile = Annotated[Path, AfterValidator(_relative_path), AfterValidator(_existing_file)]
