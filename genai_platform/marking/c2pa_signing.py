"""C2PA content credentials on PNG samples, signed when a certificate chain and key are configured.

GENAI_C2PA_CERT (a PEM certificate chain, signer first) and GENAI_C2PA_KEY (its unencrypted PEM private key)
turn signing on. The manifest repeats what credentials.py writes into the PNG's text chunks, signed so that
C2PA readers (Content Credentials viewers, c2patool) can check who made the file and that it is unchanged.

`c2pa` (pip install -e '.[c2pa]') is imported inside the functions, so the platform runs without it. Nothing
here touches the network: no timestamp authority, no OCSP or remote-manifest fetches.
"""

from __future__ import annotations

import io
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from PIL import Image

from genai_platform.marking.credentials import SampleCredentials, png_with_credentials

C2PA_CERT_VARIABLE = "GENAI_C2PA_CERT"
C2PA_KEY_VARIABLE = "GENAI_C2PA_KEY"
CLAIM_GENERATOR = "genai-platform"
PROVENANCE_LABEL = "org.genai-platform.provenance"
INSTALL_HINT = "pip install -e '.[c2pa]'"
# Network fetches off (OCSP already is by default; remote manifests are not). No thumbnail: c2pa-rs scales the
# image up to a 1024x1024 JPEG (+125 kB on a 16x16 PNG, +600 kB on a 256x256 one); readers show the PNG itself.
CONTEXT_SETTINGS = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False},
                    "builder": {"thumbnail": {"enabled": False}}}
EC_CURVE_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def c2pa_signer_settings(env) -> tuple[Path, Path] | None:
    """(certificate chain, private key) from GENAI_C2PA_CERT and GENAI_C2PA_KEY in `env`, or None when neither
    is set. ValueError when only one is set, a file cannot be read, the c2pa package is not installed, or a
    trial signature fails (a key of another kind or of another certificate, a certificate that C2PA's profile
    rejects): a deployment that asks for signing gets it or does not start."""
    cert_setting = (env.get(C2PA_CERT_VARIABLE) or "").strip()
    key_setting = (env.get(C2PA_KEY_VARIABLE) or "").strip()
    if not cert_setting and not key_setting:
        return None
    if not cert_setting or not key_setting:
        given, missing = ((C2PA_CERT_VARIABLE, C2PA_KEY_VARIABLE) if cert_setting
                          else (C2PA_KEY_VARIABLE, C2PA_CERT_VARIABLE))
        raise ValueError(f"{given} is set but {missing} is not: C2PA signing needs both the certificate chain "
                         f"({C2PA_CERT_VARIABLE}) and its private key ({C2PA_KEY_VARIABLE}), as PEM files")
    try:
        import c2pa
    except ImportError as error:
        raise ValueError(f"{C2PA_CERT_VARIABLE} and {C2PA_KEY_VARIABLE} are set but the c2pa package is not "
                         f"installed: {INSTALL_HINT}") from error
    cert_chain = _readable_file(C2PA_CERT_VARIABLE, cert_setting)
    private_key = _readable_file(C2PA_KEY_VARIABLE, key_setting)
    # c2pa checks the certificate and the key only when it signs: sign a 1x1 PNG now rather than fail every sample
    probe = SampleCredentials("probe", "probe", "probe", "probe", "1970-01-01T00:00:00+00:00")
    try:
        sign_png(png_with_credentials(Image.new("RGB", (1, 1)), probe), probe, cert_chain, private_key)
    except c2pa.C2paError as error:
        raise ValueError(f"c2pa cannot sign with {C2PA_CERT_VARIABLE}={cert_setting!r} and {C2PA_KEY_VARIABLE}="
                         f"{key_setting!r}: {error}") from None
    return cert_chain, private_key


def sign_png(png: bytes, credentials: SampleCredentials, cert_chain: Path, private_key: Path) -> bytes:
    """`png` with an embedded C2PA manifest: a c2pa.created action with the credentials' digital source type,
    and the credentials themselves as the PROVENANCE_LABEL assertion; its text chunks stay as they are."""
    import c2pa

    key_pem = private_key.read_bytes()
    algorithm = c2pa.C2paSigningAlg[_signing_algorithm(key_pem)]
    # no timestamp authority (None): signing must not go on the network
    signer_info = c2pa.C2paSignerInfo(algorithm, cert_chain.read_bytes(), key_pem, None)
    manifest = {
        "claim_generator_info": [_claim_generator()],
        "assertions": [
            {"label": "c2pa.actions",
             "data": {"actions": [{"action": "c2pa.created",
                                   "digitalSourceType": credentials.digital_source_type}]}},
            {"label": PROVENANCE_LABEL, "data": credentials.fields()},
        ],
    }
    signed = io.BytesIO()
    with (_context() as context, c2pa.Signer.from_info(signer_info) as signer,
          c2pa.Builder(manifest, context) as builder):
        builder.sign(signer, "image/png", io.BytesIO(png), signed)
    return signed.getvalue()


def read_c2pa(source: Path | str | bytes, trust_anchors: Path | None = None) -> dict | None:
    """The active C2PA manifest of a file (its path or bytes) as c2pa's JSON reports it, or None when it has
    none. Added to it: "validation_state" ("Invalid", "Valid": intact and signed, or "Trusted": also by a
    certificate that chains to `trust_anchors`, a PEM file of root certificates) and "validation_status",
    the failures (signingCredential.untrusted, assertion.dataHash.mismatch, ...; [] when there are none)."""
    import c2pa

    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    settings = CONTEXT_SETTINGS if trust_anchors is None else {
        **CONTEXT_SETTINGS, "trust": {"user_anchors": trust_anchors.read_text()}}
    with _context(settings) as context:
        reader = c2pa.Reader.try_create(io.BytesIO(data), context=context)
        if reader is None:
            return None
        with reader:
            store = json.loads(reader.json())
    return {**store["manifests"][store["active_manifest"]],
            "validation_state": store.get("validation_state"),
            "validation_status": store.get("validation_status", [])}


def _context(settings: dict = CONTEXT_SETTINGS):
    import c2pa

    return c2pa.Context.from_dict(settings)


def _claim_generator() -> dict[str, str]:
    try:
        return {"name": CLAIM_GENERATOR, "version": version("genai-platform")}
    except PackageNotFoundError:  # run from a source tree that is not installed
        return {"name": CLAIM_GENERATOR}


def _readable_file(variable: str, setting: str) -> Path:
    path = Path(setting).expanduser().resolve()
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise ValueError(f"{variable}={setting!r}: cannot read {path} ({error.strerror})") from None
    return path


def _signing_algorithm(key_pem: bytes) -> str:
    """The name of the C2paSigningAlg that `key_pem` signs with: ES256/384/512 for EC P-256/384/521, ED25519,
    or PS256 for RSA (C2PA takes RSA signatures only as PSS)."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(key_pem, password=None)
    except (TypeError, ValueError) as error:  # TypeError: the key is encrypted
        raise ValueError(f"{C2PA_KEY_VARIABLE} is not an unencrypted PEM private key ({error})") from None
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in EC_CURVE_ALGORITHMS:
        return EC_CURVE_ALGORITHMS[key.curve.name]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ED25519"
    if isinstance(key, rsa.RSAPrivateKey):
        return "PS256"
    raise ValueError(f"{C2PA_KEY_VARIABLE}: C2PA cannot sign with a {type(key).__name__}; use an EC P-256, "
                     "P-384 or P-521, an Ed25519 or an RSA key")
