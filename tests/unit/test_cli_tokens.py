"""`pulse run` shows a token it made up (kept in the data dir), never one from the environment."""

from pathlib import Path

import pytest

from pulse import cli
from servicekit.secrets import ADMIN_TOKEN, DASHBOARD_TOKEN
from servicekit.settings import CommonSettings


def test_tokens_from_the_environment_are_never_shown(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setenv("PULSE_ADMIN_TOKEN", "adm-from-env-secret")
    common = CommonSettings(data_dir=data_dir)
    core, _entry, dashboard = cli.service_settings(common, make_up_tokens=True)
    admin = core.admin_token.get_secret_value() if core.admin_token else ""
    reader = dashboard.dashboard_token.get_secret_value() if dashboard.dashboard_token else ""
    assert admin == "adm-from-env-secret"
    assert cli.shown_token(admin, common, ADMIN_TOKEN) == "(from PULSE_ADMIN_TOKEN)"
    # The dashboard token was made up and kept under the data dir: shown, so a newcomer can use it.
    assert reader.startswith("dash_")
    assert cli.shown_token(reader, common, DASHBOARD_TOKEN) == reader
