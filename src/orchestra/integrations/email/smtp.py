"""Handing a message to the configured SMTP server with aiosmtplib.

aiosmtplib's exceptions are translated here, once: a refused recipient or a failed
login is not worth retrying; a timeout or a dropped connection is.
"""

from __future__ import annotations

from email.message import EmailMessage

from orchestra.integrations.email.errors import SmtpError
from orchestra.integrations.email.settings import EmailSettings


async def send_message(
    message: EmailMessage, settings: EmailSettings, *, recipients: list[str]
) -> str:
    """Send ``message`` to ``recipients`` (the envelope, Bcc included); the server's reply."""
    import aiosmtplib

    where = f"{settings.host}:{settings.port}"
    try:
        _, reply = await aiosmtplib.send(
            message,
            recipients=recipients,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            use_tls=settings.tls,
            start_tls=settings.starttls if not settings.tls else False,
            timeout=settings.timeout_s,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(r.recipient for r in exc.recipients)
        raise SmtpError(f"the SMTP server {where} refused the recipients {refused}") from exc
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise SmtpError(
            f"login to the SMTP server {where} failed ({exc.code} {exc.message}); check "
            "username and password in [plugins.email]"
        ) from exc
    except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected) as exc:
        raise SmtpError(f"the SMTP server {where} did not answer: {exc}", retryable=True) from exc
    except aiosmtplib.SMTPConnectError as exc:
        raise SmtpError(
            f"cannot connect to the SMTP server {where}: {exc}; check host and port in "
            "[plugins.email]",
            retryable=True,
        ) from exc
    except aiosmtplib.SMTPException as exc:
        raise SmtpError(f"the SMTP server {where} refused the message: {exc}") from exc
    return reply


__all__ = ["send_message"]
