"""C2PA signing of PNG samples (marking/c2pa_signing.py), with a certificate chain the test makes itself."""

import datetime as dt
import io
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("c2pa", reason="the c2pa extra is not installed (pip install -e '.[c2pa]')")

# cryptography: a dependency of c2pa-python
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from genai_platform.marking.c2pa_signing import (
    C2PA_CERT_VARIABLE,
    C2PA_KEY_VARIABLE,
    PROVENANCE_LABEL,
    c2pa_signer_settings,
    read_c2pa,
    sign_png,
)
from genai_platform.marking.credentials import (
    TRAINED_ALGORITHMIC_MEDIA,
    SampleCredentials,
    png_credentials,
    png_with_credentials,
)

GRID = {"rows": 2, "columns": 2, "size": 8}
KEYS = {"es256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate,
        "ps256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)}


def key_usage(**allowed) -> x509.KeyUsage:
    flags = dict.fromkeys(["digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"], False)
    return x509.KeyUsage(**{**flags, **allowed})


def make_chain(folder: Path, signing_key) -> tuple[Path, Path, Path]:
    """(certificate chain, private key, root certificate) PEM files: a root CA of its own, and an end-entity
    certificate it issued with what C2PA's certificate profile asks of a signer: v3, digitalSignature key
    usage, an emailProtection or documentSigning EKU, not a CA, an authority key identifier, valid now."""
    now = dt.datetime.now(dt.UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "genai-platform tests"),
                           x509.NameAttribute(NameOID.COMMON_NAME, "test root CA")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(key_usage(key_cert_sign=True, crl_sign=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    signer_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "genai-platform tests"),
                             x509.NameAttribute(NameOID.COMMON_NAME, "test sample signer")])
    document_signing = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
    signer = (x509.CertificateBuilder().subject_name(signer_name).issuer_name(root_name)
              .public_key(signing_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(key_usage(digital_signature=True), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, document_signing]),
                             critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(signing_key.public_key()), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                             critical=False)
              .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain, key, root_file = folder / "chain.pem", folder / "signer.key", folder / "root.pem"
    # the chain holds the signer and its issuers up to, not including, the root a reader trusts
    chain.write_bytes(signer.public_bytes(pem))
    key.write_bytes(signing_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
    root_file.write_bytes(root.public_bytes(pem))
    return chain, key, root_file


@pytest.fixture(scope="module")
def credentials() -> SampleCredentials:
    return SampleCredentials.now("toy_image", "run-123", "cli", "faces")


@pytest.fixture(scope="module")
def png(credentials) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    return png_with_credentials(Image.fromarray(pixels), credentials, GRID)


@pytest.fixture(scope="module")
def es256_chain(tmp_path_factory) -> tuple[Path, Path, Path]:
    return make_chain(tmp_path_factory.mktemp("es256"), KEYS["es256"]())


def assertion(manifest: dict, label_prefix: str) -> dict:
    (data,) = [a["data"] for a in manifest["assertions"] if a["label"].startswith(label_prefix)]
    return data


@pytest.mark.parametrize("algorithm", sorted(KEYS))
def test_signed_png_carries_the_credentials(tmp_path, credentials, png, algorithm):
    chain, key, root = make_chain(tmp_path, KEYS[algorithm]())
    signed = sign_png(png, credentials, chain, key)
    (tmp_path / "sample.png").write_bytes(signed)

    manifest = read_c2pa(tmp_path / "sample.png")
    assert [info["name"] for info in manifest["claim_generator_info"]] == ["genai-platform"]
    assert manifest["signature_info"]["alg"].upper() == algorithm.upper()
    # c2pa-rs writes c2pa.actions as c2pa.actions.v2
    assert assertion(manifest, "c2pa.actions")["actions"] == [
        {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}]
    assert assertion(manifest, PROVENANCE_LABEL) == credentials.fields()
    # intact and signed, but by a root no reader trusts out of the box
    assert manifest["validation_state"] == "Valid"
    assert [status["code"] for status in manifest["validation_status"]] == ["signingCredential.untrusted"]
    trusted = read_c2pa(signed, trust_anchors=root)
    assert (trusted["validation_state"], trusted["validation_status"]) == ("Trusted", [])

    # the text chunks, the XMP packet and the pixels are those png_with_credentials wrote
    with Image.open(io.BytesIO(signed)) as image, Image.open(io.BytesIO(png)) as original:
        assert png_credentials(image).items() >= credentials.fields().items()
        assert image.text == original.text
        assert np.array_equal(np.asarray(image), np.asarray(original))


def test_a_png_without_a_manifest_reads_as_none(png):
    assert read_c2pa(png) is None


def test_changed_pixels_fail_validation(credentials, png, es256_chain):
    chain, key, _ = es256_chain
    signed = sign_png(png, credentials, chain, key)
    tampered = flip_image_data_byte(signed)
    assert tampered != signed

    manifest = read_c2pa(tampered)
    assert manifest["validation_state"] == "Invalid"
    assert "assertion.dataHash.mismatch" in [status["code"] for status in manifest["validation_status"]]


def flip_image_data_byte(png: bytes) -> bytes:
    """`png` with one byte of its first IDAT chunk inverted and the chunk's CRC made right again, so that it is
    still a well-formed PNG file whose image data has changed."""
    position = 8  # after the signature: chunks of length, type, data, CRC
    while png[position + 4:position + 8] != b"IDAT":
        position += 12 + struct.unpack(">I", png[position:position + 4])[0]
    length = struct.unpack(">I", png[position:position + 4])[0]
    chunk = bytearray(png[position + 4:position + 8 + length])  # type and data
    chunk[4 + length // 2] ^= 0xFF
    crc = struct.pack(">I", zlib.crc32(chunk))
    return png[:position + 4] + bytes(chunk) + crc + png[position + 12 + length:]


def test_signer_settings(es256_chain, tmp_path):
    chain, key, root = es256_chain
    assert c2pa_signer_settings({}) is None
    assert c2pa_signer_settings({C2PA_CERT_VARIABLE: "", C2PA_KEY_VARIABLE: " "}) is None
    assert c2pa_signer_settings({C2PA_CERT_VARIABLE: str(chain), C2PA_KEY_VARIABLE: str(key)}) == (chain, key)

    with pytest.raises(ValueError, match=f"{C2PA_CERT_VARIABLE} is set but {C2PA_KEY_VARIABLE} is not"):
        c2pa_signer_settings({C2PA_CERT_VARIABLE: str(chain)})
    with pytest.raises(ValueError, match=f"{C2PA_KEY_VARIABLE} is set but {C2PA_CERT_VARIABLE} is not"):
        c2pa_signer_settings({C2PA_KEY_VARIABLE: str(key)})
    missing = tmp_path / "missing.pem"
    with pytest.raises(ValueError, match=f"{C2PA_KEY_VARIABLE}=.*missing.pem"):
        c2pa_signer_settings({C2PA_CERT_VARIABLE: str(chain), C2PA_KEY_VARIABLE: str(missing)})
    with pytest.raises(ValueError, match=f"{C2PA_KEY_VARIABLE} is not an unencrypted PEM private key"):
        c2pa_signer_settings({C2PA_CERT_VARIABLE: str(chain), C2PA_KEY_VARIABLE: str(chain)})
    # a key of another certificate: c2pa finds out only when it signs, so the settings sign once to check
    other_chain, _, _ = make_chain(tmp_path, KEYS["es256"]())
    with pytest.raises(ValueError, match=f"c2pa cannot sign with {C2PA_CERT_VARIABLE}=.*signature does not match"):
        c2pa_signer_settings({C2PA_CERT_VARIABLE: str(other_chain), C2PA_KEY_VARIABLE: str(key)})
    # C2PA's certificate profile refuses a self-signed CA as the signer, before it looks at the key
    with pytest.raises(ValueError, match="c2pa cannot sign with .*certificate was self-signed"):
        c2pa_signer_settings({C2PA_CERT_VARIABLE: str(root), C2PA_KEY_VARIABLE: str(key)})


def test_signer_settings_without_the_package(es256_chain, monkeypatch):
    chain, key, _ = es256_chain
    monkeypatch.setitem(sys.modules, "c2pa", None)  # `import c2pa` now raises ImportError
    with pytest.raises(ValueError, match=r"c2pa package is not installed: pip install -e '\.\[c2pa\]'"):
        c2pa_signer_settings({C2PA_CERT_VARIABLE: str(chain), C2PA_KEY_VARIABLE: str(key)})
