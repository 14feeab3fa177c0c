"""The AES-256-GCM secret store: encryption at rest, the key file, rotation, tampering."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from orchestra.tools.errors import SecretStoreError
from orchestra.tools.secret_store import (
    KEY_ENV,
    EncryptedSecrets,
    encode_key,
    load_key,
    new_key,
    project_secrets,
)


def test_values_are_encrypted_at_rest_with_a_fresh_nonce_each(tmp_path: Path) -> None:
    store = EncryptedSecrets.open(tmp_path, env={})
    store.set("OPENAI_API_KEY", "sk-very-secret")
    store.set("PEER_TOKEN", "sk-very-secret")
    text = (tmp_path / "secrets.json").read_text()
    assert "sk-very-secret" not in text
    sealed = json.loads(text)["secrets"]
    first, second = (base64.b64decode(sealed[n]) for n in ("OPENAI_API_KEY", "PEER_TOKEN"))
    assert first[:12] != second[:12]  # nonces differ even for equal values
    again = EncryptedSecrets.open(tmp_path, env={})
    assert again.get("OPENAI_API_KEY") == "sk-very-secret"
    assert again.get("missing") is None


def test_key_file_is_created_once_with_owner_only_permissions(tmp_path: Path) -> None:
    key = load_key(tmp_path, env={})
    path = tmp_path / "secrets.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(tmp_path, env={}) == key
    path.chmod(0o644)
    with pytest.raises(SecretStoreError, match="chmod 600"):
        load_key(tmp_path, env={})


def test_key_from_the_environment_wins_and_a_wrong_key_is_named(tmp_path: Path) -> None:
    env = {KEY_ENV: encode_key(new_key())}
    EncryptedSecrets.open(tmp_path, env=env).set("A", "1")
    assert not (tmp_path / "secrets.key").exists()
    with pytest.raises(SecretStoreError, match="encrypted with another key"):
        EncryptedSecrets.open(tmp_path, env={KEY_ENV: encode_key(new_key())})
    with pytest.raises(SecretStoreError, match="32-byte key"):
        load_key(tmp_path, env={KEY_ENV: encode_key(b"short")})


def test_a_value_moved_to_another_name_does_not_decrypt(tmp_path: Path) -> None:
    store = EncryptedSecrets.open(tmp_path, env={})
    store.set("A", "alpha")
    path = tmp_path / "secrets.json"
    data = json.loads(path.read_text())
    data["secrets"]["B"] = data["secrets"]["A"]
    path.write_text(json.dumps(data))
    with pytest.raises(SecretStoreError, match="does not decrypt"):
        EncryptedSecrets.open(tmp_path, env={}).get("B")


def test_rotation_reencrypts_everything_under_a_new_key(tmp_path: Path) -> None:
    store = EncryptedSecrets.open(tmp_path, env={})
    store.set("A", "alpha")
    store.set("B", "beta")
    old_key = (tmp_path / "secrets.key").read_text()
    old_sealed = json.loads((tmp_path / "secrets.json").read_text())["secrets"]
    store.rotate(key_file=tmp_path / "secrets.key")
    assert (tmp_path / "secrets.key").read_text() != old_key
    assert stat.S_IMODE((tmp_path / "secrets.key").stat().st_mode) == 0o600
    assert not (tmp_path / "secrets.key.new").exists()
    new_sealed = json.loads((tmp_path / "secrets.json").read_text())["secrets"]
    assert all(new_sealed[n] != old_sealed[n] for n in ("A", "B"))
    reopened = EncryptedSecrets.open(tmp_path, env={})
    assert (reopened.get("A"), reopened.get("B")) == ("alpha", "beta")


def test_tools_see_the_store_first_then_the_environment(tmp_path: Path) -> None:
    EncryptedSecrets.open(tmp_path, env={}).set("TOKEN", "from-store")
    secrets = project_secrets(tmp_path, env={"TOKEN": "from-env", "OTHER": "env-only"})
    assert secrets.get("TOKEN") == "from-store"
    assert secrets.get("OTHER") == "env-only"
