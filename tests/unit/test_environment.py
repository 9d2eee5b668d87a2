"""Settings from the environment and .env: unknown names refused, errors named as typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.environment import ConfigurationError, known_variables, load_settings


def mistakes(environ: dict[str, str], env_file: Path | None = None) -> list[str]:
    with pytest.raises(ConfigurationError) as refused:
        load_settings(environ, env_file)
    return refused.value.lines


def test_nothing_set_gives_the_defaults() -> None:
    settings = load_settings({}, None)
    assert (settings.api_port, settings.log_level, settings.log_format) == (8000, "INFO", "text")
    assert settings.report_due_soon_days == 0


def test_a_misspelt_variable_is_refused_with_the_nearest_known_name() -> None:
    assert mistakes({"PACER_MAX_ATEMPTS": "3"}) == [
        "PACER_MAX_ATEMPTS is not a Pacer setting; did you mean PACER_MAX_ATTEMPTS?"
    ]


def test_an_unknown_variable_far_from_any_name_is_refused_without_a_guess() -> None:
    assert mistakes({"PACER_COFFEE": "black"}) == [
        "PACER_COFFEE is not a Pacer setting (the README lists the settings)"
    ]


def test_variables_of_other_programs_and_of_the_cli_tools_are_not_settings_but_are_known() -> None:
    environ = {"PACER_TOKEN": "t", "PACER_API_URL": "http://x", "HOME": "/root", "PATH": "/bin"}
    assert load_settings(environ, None).api_port == 8000
    assert {"PACER_TOKEN", "PACER_PUBLISH_ADDR", "PACER_MAX_ATTEMPTS"} <= known_variables()


def test_a_bad_value_is_named_by_the_variable_as_typed_with_its_value() -> None:
    assert mistakes({"PACER_API_PORT": "abc"}) == [
        "PACER_API_PORT='abc': Input should be a valid integer, unable to parse string as an "
        "integer"
    ]
    assert mistakes({"pacer_api_port": "abc"})[0].startswith("pacer_api_port='abc': ")


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://:s3cret@h1:26379,h2:26379",
        "redis+sentinel://pacer:s3cret@h1:26379/",
        "redis+sentinel://pacer:s3%2Fcr:et@h1:26379/mymaster/zero",
    ],
)
def test_a_bad_url_is_shown_without_its_password(url: str) -> None:
    (line,) = mistakes({"PACER_REDIS_URL": url})
    assert "s3" not in line
    assert line.startswith("PACER_REDIS_URL='redis+sentinel://") and ":***@h1:26379" in line


def test_every_mistake_is_a_line_of_its_own() -> None:
    lines = mistakes({"PACER_API_PORT": "x", "PACER_CLOCK": "tomorrow", "PACER_LOG_FORMAT": "xml"})
    assert [line.split("=", 1)[0] for line in lines] == [
        "PACER_CLOCK",
        "PACER_API_PORT",
        "PACER_LOG_FORMAT",
    ]
    assert all("\n" not in line for line in lines)


@pytest.mark.parametrize(
    ("typed", "level"), [("debug", "DEBUG"), ("Warning", "WARNING"), (" INFO ", "INFO")]
)
def test_the_log_level_is_taken_in_any_case(typed: str, level: str) -> None:
    assert load_settings({"PACER_LOG_LEVEL": typed}, None).log_level == level


@pytest.mark.parametrize("typed", ["loud", "NOTSET", "10", ""])
def test_an_unknown_log_level_is_refused(typed: str) -> None:
    assert mistakes({"PACER_LOG_LEVEL": typed}) == [
        f"PACER_LOG_LEVEL={typed!r}: must be DEBUG, INFO, WARNING, ERROR or CRITICAL"
    ]


def test_dot_env_is_read_and_the_environment_wins_over_it(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nPACER_API_PORT=8100\nPACER_EXPORTER_PORT='9200'\n")
    settings = load_settings({"PACER_API_PORT": "8200"}, env_file)
    assert (settings.api_port, settings.exporter_port) == (8200, 9200)


def test_mistakes_in_dot_env_say_so(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PACER_EXPORTR_PORT=1\nPACER_ALERTING_PORT=x\n")
    assert mistakes({}, env_file) == [
        f"PACER_EXPORTR_PORT (in {env_file}) is not a Pacer setting; "
        "did you mean PACER_EXPORTER_PORT?"
    ]
    env_file.write_text("PACER_ALERTING_PORT=x\n")
    assert mistakes({}, env_file) == [
        f"PACER_ALERTING_PORT='x' (in {env_file}): Input should be a valid integer, unable to "
        "parse string as an integer"
    ]


def test_no_dot_env_file_is_no_error(tmp_path: Path) -> None:
    assert load_settings({}, tmp_path / ".env").api_port == 8000
