"""``archivist serve`` with a certificate: HTTPS and WSS on its one port. A self-signed
certificate made here; the official SDK over https, the Python client over wss, media flowing,
an archive recorded; bad TLS settings refuse to start with a clear message."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from opentok import Client, MediaModes

from archivist.client import ArchivistClient, ConnectRefused
from tests.net.support import archive_path, wait_available
from tests.recording.media import read_output
from tests.servers import Server, host_address, make_server


def self_signed(tmp: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "archivist test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address(host)), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))
    key_path.chmod(0o600)
    return cert_path, key_path


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    tmp = tmp_path_factory.mktemp("tls")
    host = host_address()
    cert, key = self_signed(tmp, host)
    server = make_server(
        tmp,
        extra_env={"ARCHIVIST_TLS_CERTFILE": str(cert), "ARCHIVIST_TLS_KEYFILE": str(key)},
        url=f"https://{host}:{{port}}",
        verify=str(cert),
    )
    yield server, cert
    server.stop()


async def test_https_and_wss_with_media_and_an_archive(
    tls_server: tuple[Server, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert = tls_server
    assert server.url.startswith("https://")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))  # the SDK (requests) trusts our certificate
    key = server.project.api_key
    ot = Client(key, server.project.api_secret, api_url=server.url, timeout=20)
    sid = ot.create_session(media_mode=MediaModes.routed).session_id
    context = ssl.create_default_context(cafile=str(cert))
    alice = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid), ssl_context=context)
    bob = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid), ssl_context=context)
    try:
        assert alice.ws.request is not None and alice.ws.request.path == "/v2/signaling"
        pub = await alice.publish(width=320, height=240)
        sub = await bob.subscribe(pub.stream_id)
        await sub.wait_frames(30)
        archive = await asyncio.to_thread(ot.start_archive, sid, name="tls")
        await asyncio.sleep(2)
        await asyncio.to_thread(ot.stop_archive, archive.id)
        done = await wait_available(ot, archive.id)
    finally:
        await alice.close()
        await bob.close()
    out = read_output(archive_path(server.data_dir, key, archive.id), keep_every=10)
    assert sorted(out.codecs) == ["aac", "h264"] and abs(done.duration - out.container_duration) <= 1
    # the download link the SDK gets is an https URL of this server, and it serves the file
    assert done.url.startswith(server.url + "/")
    async with httpx.AsyncClient(verify=context) as http:
        downloaded = (await http.get(done.url)).content
    assert downloaded == archive_path(server.data_dir, key, archive.id).read_bytes()


async def test_tls_port_speaks_only_tls(tls_server: tuple[Server, Path]) -> None:
    server, cert = tls_server
    async with httpx.AsyncClient(timeout=5) as http:
        with pytest.raises(httpx.HTTPError):
            await http.get(server.url.replace("https://", "http://") + "/openapi.json")
    with pytest.raises(ssl.SSLCertVerificationError):  # a client that does not trust the certificate
        await ArchivistClient.open(server.url, server.project.api_key, "1_x", "T1==x", timeout=5)
    context = ssl.create_default_context(cafile=str(cert))
    with pytest.raises(ConnectRefused) as refused:  # one that does, with a bad token: refused as usual
        await ArchivistClient.open(server.url, server.project.api_key, "1_x", "T1==x", ssl_context=context)
    assert refused.value.close_code == 4001


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--certfile", "{cert}"], "TLS needs both --certfile and --keyfile"),
        (["--certfile", "{tmp}/missing.pem", "--keyfile", "{key}"], "missing.pem does not exist"),
    ],
)
def test_bad_tls_settings_refuse_to_start(tmp_path: Path, args: list[str], message: str) -> None:
    cert, key = self_signed(tmp_path, "127.0.0.1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIST_")}
    filled = [a.format(cert=cert, key=key, tmp=tmp_path) for a in args]
    done = subprocess.run(
        [sys.executable, "-m", "archivist.cli", "--data-dir", str(tmp_path / "d"), "serve", *filled],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and message in done.stderr, done.stderr


def test_bad_media_network_settings_refuse_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVIST_")}
    env |= {"ARCHIVIST_ICE_TRANSPORT_POLICY": "relay"}
    done = subprocess.run(
        [sys.executable, "-m", "archivist.cli", "--data-dir", str(tmp_path / "d"), "serve"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2 and "ARCHIVIST_ICE_TRANSPORT_POLICY=relay needs a TURN server" in done.stderr
