"""load_config: YAML → validated Config, every problem reported at once with its key path."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from conftest import Workspace, good_row
from pydantic import BaseModel, SecretStr, ValidationError

from omnisync.config import load_config
from omnisync.errors import ConfigError, ExitCode, SecretUnset
from omnisync.secrets import Secret

MINIMAL = """\
catalog:
  products: products.csv
channels:
  google:
    type: google_merchant
"""

SENTINEL = "s3cr3t-SENTINEL"
TOKEN_VAR = "OMNISYNC_TEST_TOKEN"


def load_text(workspace: Workspace, text: str):
    """Write products.csv and ``text`` as the config, then load it."""
    workspace.write_products([good_row()])
    workspace.config_path.write_text(text, encoding="utf-8")
    return load_config(workspace.config_path)


def config_error(workspace: Workspace, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_text(workspace, text)
    return info.value


def issue_paths(error: ConfigError) -> set[str]:
    return {path for path, _ in error.issues}


def channel_config(body: str) -> str:
    """The minimal config with extra lines under channels.google (indented 4)."""
    return MINIMAL + "".join(f"    {line}\n" for line in body.splitlines())


# --- loading ----------------------------------------------------------------------------------


def test_minimal_config_loads_with_defaults(workspace: Workspace) -> None:
    config = load_text(workspace, MINIMAL)
    assert config.catalog.products == workspace.products.resolve()
    assert config.catalog.stock is None
    assert config.output_dir.name == "out"
    assert list(config.channels) == ["google"]
    google = config.channels["google"]
    assert google.type == "google_merchant"
    assert google.format == "xml"  # type: ignore[attr-defined]
    assert google.max_drop == 0.5


def test_full_channel_settings_are_kept(workspace: Workspace) -> None:
    config = load_text(
        workspace,
        channel_config("format: tsv\ncurrency: KZT\nmax_drop: 0.2\ntitle: My Store"),
    )
    google = config.channels["google"]
    assert (google.format, google.currency, google.title) == ("tsv", "KZT", "My Store")  # type: ignore[attr-defined]
    assert google.max_drop == 0.2


def test_paths_are_relative_to_the_config_folder_not_the_cwd(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_text(workspace, MINIMAL + "output_dir: feeds\n")
    assert config.catalog.products.resolve() == workspace.products.resolve()
    assert config.output_dir.resolve() == (workspace.root / "feeds").resolve()
    assert not str(config.output_dir.resolve()).startswith(str(elsewhere))


def test_default_output_dir_is_relative_to_the_config_folder(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_text(workspace, MINIMAL)  # no output_dir: the default "out"
    assert config.output_dir.resolve() == (workspace.root / "out").resolve()


def test_relative_paths_may_climb_out_of_the_config_folder(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write_products([good_row()])
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    config_path = conf_dir / "omnisync.yaml"
    config_path.write_text(MINIMAL.replace("products.csv", "../products.csv"), encoding="utf-8")
    monkeypatch.chdir(conf_dir)  # a relative config path must work too
    config = load_config(Path("omnisync.yaml"))
    assert config.catalog.products.resolve() == workspace.products.resolve()
    assert config.output_dir.resolve() == conf_dir / "out"


def test_absolute_paths_are_kept(workspace: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "absolute-out"
    config = load_text(workspace, MINIMAL + f"output_dir: {out}\n")
    assert config.output_dir == out


# --- one error --------------------------------------------------------------------------------


def test_bad_format_names_the_key_path_and_the_choices(workspace: Workspace) -> None:
    error = config_error(workspace, channel_config("format: pdf"))
    assert "channels.google.format: Input should be 'xml' or 'tsv'" in str(error)


def test_config_error_exit_code_is_2(workspace: Workspace) -> None:
    error = config_error(workspace, channel_config("format: pdf"))
    assert error.exit_code == 2
    assert error.exit_code == ExitCode.USAGE
    assert ConfigError.exit_code == 2


def test_unknown_channel_type_lists_the_known_types(workspace: Workspace) -> None:
    error = config_error(workspace, MINIMAL.replace("google_merchant", "amazon"))
    assert issue_paths(error) == {"channels.google.type"}
    assert "amazon" in str(error)
    assert "google_merchant" in str(error)


def test_channel_without_type_is_rejected(workspace: Workspace) -> None:
    error = config_error(workspace, MINIMAL.replace("    type: google_merchant\n", "    x: 1\n"))
    assert "channels.google.type" in issue_paths(error)


def test_unknown_key_inside_a_channel_names_its_path(workspace: Workspace) -> None:
    error = config_error(workspace, channel_config("formt: xml"))
    assert issue_paths(error) == {"channels.google.formt"}
    assert "channels.google.formt" in str(error)


@pytest.mark.parametrize("name", ["goo/gle", "google.xml", "../evil", ".hidden", ""])
def test_channel_name_that_is_not_a_slug_is_rejected(workspace: Workspace, name: str) -> None:
    error = config_error(workspace, MINIMAL.replace("  google:", f"  {json.dumps(name)}:"))
    assert f"channels.{name}" in issue_paths(error)
    assert "letters, digits" in str(error)


def test_channel_name_with_trailing_newline_is_rejected(workspace: Workspace) -> None:
    error = config_error(workspace, MINIMAL.replace("  google:", '  "google\\n":'))
    assert "channels.google\n" in issue_paths(error)


def test_channel_name_that_is_not_a_string_is_rejected(workspace: Workspace) -> None:
    error = config_error(workspace, MINIMAL.replace("  google:", "  null:"))
    assert "channels.None" in issue_paths(error)


def test_lower_case_currency_is_rejected(workspace: Workspace) -> None:
    error = config_error(workspace, channel_config("currency: kzt"))
    assert issue_paths(error) == {"channels.google.currency"}


@pytest.mark.parametrize("value", ["2", "-0.1"])
def test_max_drop_outside_0_to_1_is_rejected(workspace: Workspace, value: str) -> None:
    error = config_error(workspace, channel_config(f"max_drop: {value}"))
    assert issue_paths(error) == {"channels.google.max_drop"}


def test_missing_products_file_names_catalog_products(workspace: Workspace) -> None:
    error = config_error(workspace, MINIMAL.replace("products.csv", "missing.csv"))
    assert issue_paths(error) == {"catalog.products"}
    assert "missing.csv" in str(error)


def test_missing_catalog_section_is_reported(workspace: Workspace) -> None:
    error = config_error(workspace, "channels:\n  google:\n    type: google_merchant\n")
    assert "catalog" in issue_paths(error)


def test_missing_channels_section_is_reported(workspace: Workspace) -> None:
    error = config_error(workspace, "catalog:\n  products: products.csv\n")
    assert "channels" in issue_paths(error)


# --- several errors at once -------------------------------------------------------------------


def test_every_error_is_listed_in_one_config_error(workspace: Workspace) -> None:
    text = """\
catalog:
  products: missing.csv
ouput_dir: out
channels:
  google:
    type: google_merchant
    format: pdf
"""
    error = config_error(workspace, text)
    assert issue_paths(error) == {"ouput_dir", "channels.google.format", "catalog.products"}
    message = str(error)
    for path in ("ouput_dir:", "channels.google.format:", "catalog.products:"):
        assert path in message


def test_errors_in_several_channels_are_all_listed(workspace: Workspace) -> None:
    text = MINIMAL + "    format: pdf\n  other:\n    type: google_merchant\n    currency: kzt\n"
    error = config_error(workspace, text)
    assert issue_paths(error) == {"channels.google.format", "channels.other.currency"}


# --- not a usable file ------------------------------------------------------------------------


def test_invalid_yaml_names_the_line(workspace: Workspace) -> None:
    text = "catalog:\n  products: products.csv\nchannels:\n  google: {type: google_merchant\n"
    error = config_error(workspace, text)
    assert "invalid YAML" in str(error)
    assert "line 5" in str(error)


def test_invalid_yaml_line_is_where_the_parser_stopped(workspace: Workspace) -> None:
    text = "catalog:\n  products: products.csv\n  bad: : :\nchannels: {}\n"
    error = config_error(workspace, text)
    assert "line 3" in str(error)


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- catalog\n- channels\n", "42\n"])
def test_file_that_is_not_a_mapping_is_rejected(workspace: Workspace, text: str) -> None:
    error = config_error(workspace, text)
    assert "mapping" in str(error)
    assert error.exit_code == 2


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert "cannot read the file" in str(info.value)
    assert str(tmp_path / "nope.yaml") in str(info.value)


def test_utf8_bom_is_accepted(workspace: Workspace) -> None:
    workspace.write_products([good_row()])
    workspace.config_path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert list(load_config(workspace.config_path).channels) == ["google"]


# --- secrets ----------------------------------------------------------------------------------


class M(BaseModel):
    token: Secret


def test_env_secret_resolves_to_a_secret_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VAR, SENTINEL)
    model = M(token=f"env:{TOKEN_VAR}")
    assert isinstance(model.token, SecretStr)
    assert model.token.get_secret_value() == SENTINEL


def test_env_secret_never_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VAR, SENTINEL)
    model = M(token=f"env:{TOKEN_VAR}")
    for shown in (str(model.token), repr(model.token), str(model), repr(model)):
        assert SENTINEL not in shown


def test_env_secret_serializes_masked_without_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VAR, SENTINEL)
    model = M(token=f"env:{TOKEN_VAR}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dumped = model.model_dump_json()
    assert SENTINEL not in dumped


def test_literal_secret_is_rejected_with_env_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VAR, SENTINEL)
    with pytest.raises(ValidationError) as info:
        M(token=SENTINEL)
    assert "env:NAME" in str(info.value)


def test_secret_from_unset_variable_names_it_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_VAR, raising=False)
    model = M(token=f"env:{TOKEN_VAR}")  # loading needs no credentials, connecting does
    with pytest.raises(SecretUnset) as info:
        model.token.get_secret_value()
    assert f"{TOKEN_VAR} is not set" in str(info.value)
    assert info.value.exit_code == ExitCode.USAGE


def test_env_reference_syntax_is_checked_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="NAME is letters, digits and _"):
        M(token="env:")
    with pytest.raises(ValidationError, match="NAME is letters, digits and _"):
        M(token="env:MY TOKEN")


def test_a_secret_loses_surrounding_whitespace(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import BaseModel

    class M(BaseModel):
        token: Secret

    monkeypatch.setenv("OMNISYNC_T", "abcd1234\n")
    assert M(token="env:OMNISYNC_T").token.get_secret_value() == "abcd1234"  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "  ", "токен123", "tab\there"])
def test_a_secret_a_header_cannot_carry_is_refused_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    from pydantic import BaseModel

    class M(BaseModel):
        token: Secret

    monkeypatch.setenv("OMNISYNC_T", value)
    model = M(token="env:OMNISYNC_T")  # type: ignore[arg-type]
    with pytest.raises(SecretUnset, match="OMNISYNC_T is empty or holds characters") as info:
        model.token.get_secret_value()
    if value.strip():
        assert value not in str(info.value)
