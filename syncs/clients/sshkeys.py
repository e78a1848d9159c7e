"""SSH keys as Rollcall stores them: host key fingerprints (pinned, compared) and private
key text (pasted into the admin, used to sign in). No network here."""

from __future__ import annotations

import base64
import hashlib
import io

import paramiko

from syncs.errors import SyncFailure
from syncs.models import FailureReason

# paramiko's key classes, tried in turn on the key text (it has no "any type" parser for
# key text; DSA is gone since paramiko 4).
KEY_CLASSES: tuple[type[paramiko.PKey], ...] = (
    paramiko.Ed25519Key,
    paramiko.ECDSAKey,
    paramiko.RSAKey,
)


def fingerprint(key: paramiko.PKey) -> str:
    """The key's fingerprint exactly as OpenSSH prints it: `SHA256:` + unpadded base64."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def normalize_fingerprint(text: str) -> str:
    """A pinned fingerprint as stored or pasted (`ssh-keygen -l` output works too), in the
    form `fingerprint()` returns; "" if it is not a SHA256 fingerprint."""
    for word in text.split():
        if word.startswith("SHA256:") and len(word) > len("SHA256:"):
            return word.rstrip("=")
    return ""


def load_private_key(text: str) -> paramiko.PKey:
    """Parse private key text (OpenSSH or PEM; Ed25519, ECDSA or RSA), or fail `credentials`."""
    # Keys pasted into a browser come back with CRLF line ends and stray blank space.
    text = text.strip().replace("\r\n", "\n") + "\n"
    for cls in KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException as exc:
            raise SyncFailure(
                FailureReason.CREDENTIALS,
                "The SFTP private key is protected by a passphrase, which Rollcall cannot "
                "use. Store the key without a passphrase.",
                {"step": "private_key"},
            ) from exc
        except (paramiko.SSHException, ValueError, TypeError, IndexError):
            continue  # not this type (or not a key at all): try the next one
    raise SyncFailure(
        FailureReason.CREDENTIALS,
        "The SFTP private key could not be read as an Ed25519, ECDSA or RSA key "
        "(OpenSSH or PEM text). Paste the whole private key, including its BEGIN and END lines.",
        {"step": "private_key"},
    )
