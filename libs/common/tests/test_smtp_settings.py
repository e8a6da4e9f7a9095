"""One definition of the SMTP settings, read under each service's own prefix."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from postloan_common.settings import ServiceSettings, SmtpSettings


class _Mailing(ServiceSettings, SmtpSettings):
    model_config = SettingsConfigDict(env_prefix="MAILING_", extra="ignore")

    service_name: str = "mailing"
    smtp_from: str = "mailing@postloan.local"


def test_smtp_settings_take_the_service_prefix_and_its_own_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAILING_SMTP_HOST", "mail.example")
    monkeypatch.setenv("MAILING_SMTP_START_TLS", "true")
    monkeypatch.setenv("MAILING_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("SMTP_PORT", "2525")  # unprefixed: not ours
    settings = _Mailing()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_start_tls) == ("mail.example", 1025, True)
    assert settings.smtp_from == "mailing@postloan.local"
    assert settings.smtp_password is not None and settings.smtp_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
