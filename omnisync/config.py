"""YAML configuration → validated pydantic models.

Every error carries its key path (``channels.google.format: Input should be 'xml' or 'tsv'``)
and all of them are reported at once. Paths are relative to the config file. Secrets are written
as ``env:NAME`` and held as :class:`~omnisync.secrets.EnvSecret` (a SecretStr, so they never
print): the variable is read only when a command connects, so validate, build, diff and status
need no credentials.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from omnisync.catalogs import CATALOG_TAGS, Catalog, StrictModel, database_url
from omnisync.channels.base import ChannelConfig
from omnisync.channels.registry import lookup
from omnisync.errors import ConfigError
from omnisync.paths import OutputDir, RelPath
from omnisync.secrets import Secret, env_secrets

# Channel names become file names: keep them to a safe slug so outputs stay in output_dir.
CHANNEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class Webhook(StrictModel):
    url: str = Field(pattern=r"^https?://\S+$")
    token: Secret | None = None  # sent as Authorization: Bearer


IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$"  # [schema.]table


class SqlExport(StrictModel):
    """Orders written into two tables of a database (orders/sqlexport.py)."""

    url: str | None = None  # default: the catalogue's database (catalog.source: sql)
    password: Secret | None = None
    orders_table: str = Field(default="omnisync_orders", pattern=IDENTIFIER)
    lines_table: str = Field(default="omnisync_order_lines", pattern=IDENTIFIER)

    @field_validator("url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        return None if value is None else database_url(value)


class Exchange(StrictModel):
    """1C pulls the orders from ``omnisync exchange serve`` (commerceml/exchange.py)."""

    user: str = Field(min_length=1)  # what 1C's exchange settings hold, with the password
    password: Secret
    encoding: Literal["utf-8", "windows-1251"] = "utf-8"  # of the orders 1C receives


class ExportsConfig(StrictModel):
    """Where stored orders go besides the central store (each an outbox relayed after a pull)."""

    ndjson: RelPath | None = None  # one JSON order per line, rewritten atomically
    commerceml: RelPath | None = None  # 1C CommerceML 2 orders.xml (channels.md §6.4)
    webhook: Webhook | None = None  # POST per order version, Idempotency-Key reused on retry
    sql: SqlExport | None = None  # rows in the ERP's database (orders/sqlexport.py)
    exchange: Exchange | None = None  # 1C pulls them: omnisync exchange serve
    currency: str = Field(default="KZT", pattern=r"^[A-Z]{3}$")
    # The clock of the CommerceML documents' Дата and Время (1C shows them as they are).
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone; e.g. Asia/Almaty") from None
        return value

    def kinds(self) -> tuple[str, ...]:
        kinds = ("ndjson", "commerceml", "webhook", "sql", "exchange")
        return tuple(k for k in kinds if getattr(self, k))


class _TopLevel(StrictModel):
    catalog: Catalog
    output_dir: OutputDir = Field(default=Path("out"), validate_default=True)
    state: RelPath = Field(default=Path("state.db"), validate_default=True)
    exports: ExportsConfig = ExportsConfig()
    workers: int | None = Field(default=None, ge=1)
    channels: Any = None  # validated per channel type, see _validate_channels

    @model_validator(mode="after")
    def _sql_export_has_a_database(self) -> _TopLevel:
        sql = self.exports.sql
        if sql is not None and sql.url is None and self.catalog.source != "sql":
            raise ValueError(
                "exports.sql.url: set the database (the catalogue is not read from one)"
            )
        return self


class Config(StrictModel):
    catalog: Catalog
    output_dir: Path
    state: Path  # the central store (SQLite file)
    exports: ExportsConfig = ExportsConfig()
    # Accepted and ignored since the engine (issue 17) uses both cores through its own threads.
    workers: int | None = None
    # Each value is the channel type's own config model (a ChannelConfig subclass).
    channels: dict[str, SerializeAsAny[ChannelConfig]]
    path: Path = Path("omnisync.yaml")  # the file it came from, for messages

    def error(self, issues: list[tuple[str, str]]) -> ConfigError:
        """A ConfigError about this file, for checks that need the data (e.g. locations)."""
        return ConfigError(str(self.path), issues)


def load_config(path: Path) -> Config:
    """Read, validate and resolve one config file, or raise ConfigError listing every problem."""
    data = _read_yaml(path)
    base = {"base_dir": path.resolve().parent}
    issues: list[tuple[str, str]] = []
    top: _TopLevel | None = None
    try:
        top = _TopLevel.model_validate(data, context=base)
    except ValidationError as exc:
        issues.extend(_paths(exc, ()))
    channels = _validate_channels(data.get("channels"), base, issues)
    if issues or top is None:
        raise ConfigError(str(path), issues)
    config = Config(
        catalog=top.catalog,
        output_dir=top.output_dir,
        state=top.state,
        exports=top.exports,
        workers=top.workers,
        channels=channels,
        path=path,
    )
    for key, secret in env_secrets(config):
        secret.key = key  # a missing variable is reported with the key that names it
    return config


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(str(path), [("", f"cannot read the file: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), [("", "the file is not UTF-8; save it as UTF-8")]) from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "YAML"
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise ConfigError(str(path), [("", f"{where}: invalid YAML: {problem}")]) from exc
    if not isinstance(data, dict):
        raise ConfigError(
            str(path), [("", "the file must hold a mapping with catalog: and channels:")]
        )
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _validate_channels(
    raw: object, base: dict[str, Path], issues: list[tuple[str, str]]
) -> dict[str, ChannelConfig]:
    if not isinstance(raw, dict) or not raw:
        issues.append(
            ("channels", "define at least one channel, e.g. google: {type: google_merchant}")
        )
        return {}
    channels: dict[str, ChannelConfig] = {}
    folded: set[str] = set()
    for name, body in raw.items():
        where = ("channels", str(name))
        if not isinstance(name, str) or not CHANNEL_NAME.fullmatch(name):
            issues.append((".".join(where), "use letters, digits, '_' and '-' (max 64)"))
            continue
        if name.casefold() in folded:  # the names become file names; some filesystems fold case
            issues.append((".".join(where), "another channel has this name in other letter case"))
            continue
        folded.add(name.casefold())
        config = _validate_channel(body, base, where, issues)
        if config is not None:
            channels[str(name)] = config
    return channels


def _validate_channel(
    body: object, base: dict[str, Path], where: tuple[str, ...], issues: list[tuple[str, str]]
) -> ChannelConfig | None:
    if not isinstance(body, dict) or "type" not in body:
        issues.append((".".join((*where, "type")), "every channel needs a type"))
        return None
    try:
        model = lookup(str(body["type"])).config_model
    except KeyError as exc:
        issues.append((".".join((*where, "type")), str(exc.args[0])))
        return None
    try:
        return model.model_validate(body, context=base)
    except ValidationError as exc:
        issues.extend(_paths(exc, where))
        return None


def _paths(exc: ValidationError, prefix: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        if loc[:1] == ["catalog"] and loc[1:2] and loc[1] in CATALOG_TAGS:
            del loc[1]  # the tag pydantic adds for the catalog model it chose by `source`
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling against the README)"
        out.append((".".join((*prefix, *loc)), msg))
    return out
