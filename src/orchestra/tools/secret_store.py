"""Secrets at rest: an AES-256-GCM encrypted store behind the :class:`SecretProvider` seam.

Provider keys, Google credentials and A2A peer tokens can live here instead of in the
environment. The store is one JSON file (``<state_dir>/secrets.json``) mapping each name
to ``base64(nonce || ciphertext+tag)``:

* **AES-256-GCM** (``cryptography``'s ``AESGCM``) with a fresh random 96-bit nonce for
  every value written, and the secret's *name* as associated data, so a ciphertext
  copied onto another name fails to decrypt instead of passing as that secret.
* **The key** (32 random bytes) comes from ``ORCHESTRA_SECRETS_KEY`` (URL-safe base64)
  when set, else from the key file ``<state_dir>/secrets.key``, created on first start
  with mode 0600 (and refused, with the ``chmod`` to run, if group or others may read it).
  The store records a fingerprint of its key so a wrong key is reported as such, not
  as a damaged value.
* **Rotation** (:meth:`EncryptedSecrets.rotate`, ``orchestra secrets rotate-key``)
  decrypts every value with the old key and re-encrypts it with a new one under fresh
  nonces. The new key is written first to ``secrets.key.new`` (0600), then the store
  is replaced, then the key file: each step atomic (write, fsync, rename), so a crash
  at any point leaves a store and a file holding its key (the error then names the
  ``mv`` that finishes the rotation).

:class:`LayeredSecrets` is what the runtime hands tools: the store first, then the
environment, so ``os.environ/NAME`` references resolve from either.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets as random
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestra.tools.errors import SecretStoreError
from orchestra.tools.secrets import EnvSecrets, SecretProvider

KEY_ENV = "ORCHESTRA_SECRETS_KEY"
KEY_FILE = "secrets.key"
STORE_FILE = "secrets.json"
NONCE_BYTES = 12
KEY_BYTES = 32


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def fingerprint(key: bytes) -> str:
    """Names a key without revealing it (the first 16 hex chars of SHA-256 of a label+key)."""
    return hashlib.sha256(b"orchestra-secrets-key:" + key).hexdigest()[:16]


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise SecretStoreError(
            f"{source} is not URL-safe base64; generate a key with "
            "`python -c 'import base64,os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`"
        ) from exc
    if len(key) != KEY_BYTES:
        raise SecretStoreError(
            f"{source} holds {len(key)} bytes; AES-256 needs a {KEY_BYTES}-byte key"
        )
    return key


def load_key(state_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    """The store's key: ``ORCHESTRA_SECRETS_KEY``, else the key file (created with 0600 on
    first use). A key file that group or others may read is refused."""
    environ = os.environ if env is None else env
    if environ.get(KEY_ENV):
        return _decode_key(environ[KEY_ENV], f"the environment variable {KEY_ENV}")
    path = state_dir / KEY_FILE
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        _write_private(path, encode_key(new_key()) + "\n")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretStoreError(
            f"the secrets key file {path} may be read by other users (mode {mode:o}); "
            f"run `chmod 600 {path}`"
        )
    return _decode_key(path.read_text(), f"the key file {path}")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only."""
    temporary = path.with_name(f".{path.name}.{random.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


class EncryptedSecrets:
    """The encrypted store file; a :class:`SecretProvider` (``get``) that can also be written."""

    def __init__(self, path: Path, key: bytes) -> None:
        self.path = path
        self._key = key
        self._values: dict[str, str] = {}
        self._stamp: int | None = None
        self._refresh()

    def _refresh(self) -> None:
        """Re-read the file when it changed (``orchestra secrets set`` while serving)."""
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._values, self._stamp = {}, None
            return
        if stamp != self._stamp:
            self._values, self._stamp = self._read(), stamp

    @classmethod
    def open(cls, state_dir: Path, env: Mapping[str, str] | None = None) -> EncryptedSecrets:
        """The project's store under ``state_dir`` with its key (see :func:`load_key`)."""
        return cls(state_dir / STORE_FILE, load_key(state_dir, env))

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            values = data["secrets"]
            stored_key = data["key"]
        except (ValueError, KeyError, TypeError) as exc:
            raise SecretStoreError(
                f"the secret store {self.path} is damaged ({exc}); restore it from a backup "
                "or delete it and set the secrets again with `orchestra secrets set`"
            ) from exc
        if stored_key != fingerprint(self._key):
            pending = self.path.parent / (KEY_FILE + ".new")
            if pending.exists():
                raise SecretStoreError(
                    f"a key rotation was interrupted: the store {self.path} is encrypted with "
                    f"the key in {pending}; finish it with `mv {pending} "
                    f"{self.path.parent / KEY_FILE}`"
                )
            raise SecretStoreError(
                f"the secret store {self.path} was encrypted with another key (fingerprint "
                f"{stored_key}, this key is {fingerprint(self._key)}); set {KEY_ENV} or "
                f"restore {self.path.parent / KEY_FILE} to the key it was written with"
            )
        if not isinstance(values, dict):
            raise SecretStoreError(f"the secret store {self.path} is damaged (no secrets table)")
        return {str(k): str(v) for k, v in values.items()}

    def _save(self, values: dict[str, str], key: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = {"version": 1, "cipher": "AES-256-GCM", "key": fingerprint(key), "secrets": values}
        _write_private(self.path, json.dumps(body, indent=1, sort_keys=True) + "\n")

    @staticmethod
    def _seal(key: bytes, name: str, value: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, value.encode("utf-8"), name.encode("utf-8"))
        return base64.b64encode(nonce + sealed).decode("ascii")

    def _open(self, key: bytes, name: str, token: str) -> str:
        try:
            raw = base64.b64decode(token.encode("ascii"), validate=True)
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], name.encode("utf-8"))
        except (InvalidTag, ValueError) as exc:
            raise SecretStoreError(
                f"the stored secret {name!r} in {self.path} does not decrypt (tampered with "
                f"or copied from another name); set it again with `orchestra secrets set {name}`"
            ) from exc
        return plain.decode("utf-8")

    # ------------------------------------------------------------ provider

    def get(self, name: str) -> str | None:
        self._refresh()
        token = self._values.get(name)
        return None if token is None else self._open(self._key, name, token)

    def names(self) -> list[str]:
        self._refresh()
        return sorted(self._values)

    # ------------------------------------------------------------- writing

    def set(self, name: str, value: str) -> None:
        """Encrypt ``value`` under a fresh nonce and store it as ``name``."""
        if not name or not value:
            raise SecretStoreError("a secret needs a name and a non-empty value")
        self._refresh()
        values = {**self._values, name: self._seal(self._key, name, value)}
        self._save(values, self._key)
        self._values, self._stamp = values, self.path.stat().st_mtime_ns

    def delete(self, name: str) -> bool:
        if name not in self._values:
            return False
        values = {k: v for k, v in self._values.items() if k != name}
        self._save(values, self._key)
        self._values, self._stamp = values, self.path.stat().st_mtime_ns
        return True

    def rotate(self, new: bytes | None = None, key_file: Path | None = None) -> bytes:
        """Re-encrypt every value under ``new`` (a fresh key by default), with fresh nonces;
        write the store, then the key file ``key_file`` if given. Returns the new key.

        Every value is decrypted before anything is written, so a value that does not
        decrypt stops the rotation with nothing changed."""
        key = new or new_key()
        plain = {name: self._open(self._key, name, token) for name, token in self._values.items()}
        values = {name: self._seal(key, name, value) for name, value in plain.items()}
        pending = None if key_file is None else key_file.with_name(key_file.name + ".new")
        if pending is not None:
            _write_private(pending, encode_key(key) + "\n")
        self._save(values, key)
        if key_file is not None and pending is not None:
            os.replace(pending, key_file)
        self._key, self._values = key, values
        self._stamp = self.path.stat().st_mtime_ns
        return key


class LayeredSecrets:
    """Looks a secret up in each provider in turn (the store, then the environment)."""

    def __init__(self, *providers: SecretProvider) -> None:
        self.providers = providers

    def get(self, name: str) -> str | None:
        for provider in self.providers:
            value = provider.get(name)
            if value is not None:
                return value
        return None


def project_secrets(state_dir: Path, env: Mapping[str, str] | None = None) -> LayeredSecrets:
    """What the runtime gives tools: the encrypted store (key created on first start), then
    the environment."""
    return LayeredSecrets(EncryptedSecrets.open(state_dir, env), EnvSecrets(env))
