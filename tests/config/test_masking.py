"""Recognising and hiding secrets."""

from __future__ import annotations

from orchestra.config.masking import collect_secrets, mask_value, redact_text


def test_secret_keys_are_masked_recursively() -> None:
    value = {
        "model": "openai/gpt-4o",
        "api_key": "sk-abcdef123456",
        "nested": {"GITHUB_TOKEN": "ghp_xyz", "password": "pw1234"},
    }
    assert mask_value("litellm_params", value) == {
        "model": "openai/gpt-4o",
        "api_key": "***",
        "nested": {"GITHUB_TOKEN": "***", "password": "***"},
    }


def test_env_references_are_not_secrets() -> None:
    assert mask_value("api_key", "os.environ/OPENAI_API_KEY") == "os.environ/OPENAI_API_KEY"


def test_url_password_is_masked_user_and_host_stay() -> None:
    url = "redis://:s3cretpw@localhost:6379/0"
    assert mask_value("redis_url", url) == "redis://:***@localhost:6379/0"
    assert mask_value("url", "postgresql://u@h/db") == "postgresql://u@h/db"


def test_collect_secrets_finds_key_values_and_url_passwords() -> None:
    dump = {
        "database": {"url": "postgresql://bob:hunter22@db/x"},
        "models": {"model_list": [{"litellm_params": {"api_key": "sk-live-123456"}}]},
        "tools": {"mcp_servers": [{"env": {"API_TOKEN": "tok-98765"}}]},
        "server": {"host": "127.0.0.1"},
    }
    assert collect_secrets(dump) == {"hunter22", "sk-live-123456", "tok-98765"}


def test_redact_text_patterns() -> None:
    text = (
        "key sk-proj-AbCdEf123456 header Authorization: Bearer eyJhbGciOi.x.y "
        "url postgresql://bob:hunter22@db/x api_key=abc123def password: 'p4ss'"
    )
    redacted = redact_text(text)
    for secret in ("AbCdEf123456", "eyJhbGciOi", "hunter22", "abc123def", "p4ss"):
        assert secret not in redacted
    assert "Bearer ***" in redacted
    assert "postgresql://bob:***@db/x" in redacted


def test_redact_known_values_verbatim() -> None:
    assert redact_text("token is plainvalue!", {"plainvalue"}) == "token is ***!"
