"""Settings from the environment and ``./.env``, with mistakes named as the operator typed them.

- A ``PACER_*`` variable Pacer does not know stops the start, with the nearest known name: a
  misspelt ``PACER_MAX_ATEMPTS`` would otherwise leave the default in force unnoticed.
- A value that does not parse is reported under its variable (``PACER_API_PORT='abc': ...``),
  not under the settings field (``api_port``).
- ``./.env`` (``NAME=value`` lines) is read when present; the process environment wins over it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic import ValidationError

from shared.settings import Settings
from shared.url_passwords import without_password

PREFIX = "PACER_"
ENV_FILE = Path(".env")
OTHER_VARIABLES = frozenset(
    {
        "PACER_TOKEN",  # the CLI tools: the caller's API token
        "PACER_PUBLISH_ADDR",  # docker-compose.yml: the host address ports are published on
        "PACER_IMAGE_TAG",  # docker-compose.yml: the image to run
        "PACER_BENCH_RESULTS_DIR",  # bench: where results are written
        "PACER_SCREENSHOTS_DIR",  # the portal's browser tests: where screenshots go
        "PACER_TEST_PORTS",  # make test: the ports a lane's test servers take (tests/support)
        "PACER_REVISION",  # the image build's argument (Dockerfile): the source revision
    }
)
"""``PACER_*`` names read by something other than ``Settings``, which may be in the same shell."""


class ConfigurationError(ValueError):
    """The configuration is unusable; ``lines`` says why, one line per mistake."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def known_variables() -> frozenset[str]:
    return frozenset(PREFIX + name.upper() for name in Settings.model_fields) | OTHER_VARIABLES


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = ENV_FILE
) -> Settings:
    """The settings of this process; raises ``ConfigurationError`` naming every mistake.

    ``environ`` is the process environment unless a test gives another."""
    environ = os.environ if environ is None else environ
    from_file = _read_env_file(env_file)
    unknown = _unknown(environ) + _unknown(from_file, where=f" (in {env_file})")
    if unknown:
        raise ConfigurationError(unknown)
    values = {**_pacer_values(from_file), **_pacer_values(environ)}
    try:
        # Validated from these values alone (no second read of the environment), so a test's
        # ``environ`` is the whole configuration.
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigurationError(_explain(exc, environ, from_file, env_file)) from None


def _read_env_file(env_file: Path | None) -> dict[str, str]:
    if env_file is None or not env_file.is_file():
        return {}
    return {name: value or "" for name, value in dotenv_values(env_file).items()}


def _pacer_values(variables: Mapping[str, str]) -> dict[str, str]:
    """Field name -> value for the ``PACER_*`` variables that are settings (any case)."""
    fields = set(Settings.model_fields)
    found = {}
    for name, value in variables.items():
        field = name[len(PREFIX) :].lower() if name.upper().startswith(PREFIX) else ""
        if field in fields:
            found[field] = value
    return found


def _unknown(variables: Mapping[str, str], where: str = "") -> list[str]:
    known = known_variables()
    lines = []
    for name in sorted(variables):
        if not name.upper().startswith(PREFIX) or name.upper() in known:
            continue
        guess = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.75)
        hint = f"; did you mean {guess[0]}?" if guess else " (the README lists the settings)"
        lines.append(f"{name}{where} is not a Pacer setting{hint}")
    return lines


def _explain(
    exc: ValidationError,
    environ: Mapping[str, str],
    from_file: Mapping[str, str],
    env_file: Path | None,
) -> list[str]:
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name, value, where = _as_typed(field, environ, from_file, env_file)
        message = error["msg"].removeprefix("Value error, ")
        shown = "" if value is None else f"={without_password(value)!r}"
        lines.append(f"{name}{shown}{where}: {message}")
    return lines


def _as_typed(
    field: str,
    environ: Mapping[str, str],
    from_file: Mapping[str, str],
    env_file: Path | None,
) -> tuple[str, str | None, str]:
    """The variable as the operator wrote it (its case), its value, and where it was set."""
    canonical = PREFIX + field.upper()
    for variables, where in ((environ, ""), (from_file, f" (in {env_file})")):
        for name, value in variables.items():
            if name.upper() == canonical:
                return name, value, where
    return canonical, None, ""
