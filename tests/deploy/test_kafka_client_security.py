"""Kafka client security: the aiokafka kwargs built from KAFKA_* settings (no broker needed)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from postloan_common.messaging.kafka import make_consumer, make_producer, security_kwargs
from postloan_common.settings import KafkaSecurityProtocol, KafkaSecuritySettings


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "ca.pem", tmp_path / "ca.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=postloan-test-ca",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert


def test_plaintext_default_adds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert KafkaSecuritySettings().security_protocol is KafkaSecurityProtocol.PLAINTEXT
    assert security_kwargs() == {}

    async def build() -> str:
        return str(make_producer("127.0.0.1:9092").client._security_protocol)

    assert asyncio.run(build()) == "PLAINTEXT"


def test_sasl_ssl_scram_kwargs(ca_file: Path) -> None:
    settings = KafkaSecuritySettings(
        security_protocol=KafkaSecurityProtocol.SASL_SSL,
        sasl_username="crm",
        sasl_password=SecretStr("s3cret"),
        ssl_cafile=str(ca_file),
    )
    kwargs = security_kwargs(settings)
    context = kwargs.pop("ssl_context")
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert kwargs == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "crm",
        "sasl_plain_password": "s3cret",
    }


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, ca_file: Path) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "reporting")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "pw")
    monkeypatch.setenv("KAFKA_SSL_CAFILE", str(ca_file))

    async def build() -> tuple[str, str, str]:
        client = make_consumer("t", bootstrap_servers="kafka:9093", group_id="g")._client
        return client._security_protocol, client._sasl_mechanism, client._sasl_plain_username

    assert asyncio.run(build()) == ("SASL_SSL", "SCRAM-SHA-512", "reporting")


def test_ssl_only_has_no_sasl(ca_file: Path) -> None:
    kwargs = security_kwargs(
        KafkaSecuritySettings(security_protocol=KafkaSecurityProtocol.SSL, ssl_cafile=str(ca_file))
    )
    assert set(kwargs) == {"security_protocol", "ssl_context"}


def test_sasl_without_credentials_is_refused() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME"):
        KafkaSecuritySettings(security_protocol=KafkaSecurityProtocol.SASL_SSL)
