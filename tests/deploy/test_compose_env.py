"""`make compose-env` writes everything docker-compose.yml requires, and its Kafka TLS works with our clients."""

from __future__ import annotations

import asyncio
import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from postloan_common.messaging.kafka import security_kwargs
from postloan_common.settings import KafkaSecurityProtocol, KafkaSecuritySettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    out = tmp_path_factory.mktemp("compose-env")
    subprocess.run(["bash", str(REPO / "deploy/scripts/compose-env.sh"), str(out / "compose.env")], check=True)
    return out


def _variables(env_file: Path) -> dict[str, str]:
    lines = [line for line in env_file.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_the_env_file_sets_every_variable_compose_requires(generated: Path) -> None:
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (REPO / "docker-compose.yml").read_text()))
    variables = _variables(generated / "compose.env")
    assert required <= set(variables), sorted(required - set(variables))
    kafka = [name for name in variables if name.endswith("_KAFKA_PASSWORD") or name == "KAFKA_ADMIN_PASSWORD"]
    assert len(kafka) == 6 and len({variables[name] for name in kafka}) == 6, "one distinct password per principal"


def _client_context(ca: Path) -> ssl.SSLContext:
    settings = KafkaSecuritySettings(
        security_protocol=KafkaSecurityProtocol.SASL_SSL,
        sasl_username="crm",
        sasl_password=SecretStr("pw"),
        ssl_cafile=str(ca),
    )
    context = security_kwargs(settings)["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    return context


async def _handshake(broker_pem: Path, client: ssl.SSLContext, hostname: str) -> None:
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(broker_pem)  # the broker's PEM keystore: key, certificate, CA

    async def on_client(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(on_client, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname=hostname)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


def test_clients_verify_the_generated_broker_certificate(generated: Path) -> None:
    tls = generated / "kafka-tls"
    client = _client_context(tls / "ca.pem")
    for hostname in ("kafka", "localhost"):  # the service network name and the host listener
        asyncio.run(_handshake(tls / "broker.pem", client, hostname))
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(_handshake(tls / "broker.pem", client, "elsewhere"))
