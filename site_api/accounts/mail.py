"""Outgoing email: SMTP in production, files under var/outbox/ (and the log) in development."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from site_api.config import Settings

log = logging.getLogger("site_api.accounts.mail")


class Mailer:
    """Sends plain-text messages with the settings' transport."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, to: str, subject: str, text: str) -> None:
        """Send one message; SMTP errors propagate so a caller can tell the person."""
        s = self.settings
        message = EmailMessage()
        message["From"] = s.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=s.mail_from.rpartition("@")[2] or None)
        message.set_content(text)
        if not s.smtp_host:
            self._to_outbox(message)
            return
        if s.smtp_tls == "implicit":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                s.smtp_host, s.smtp_port, timeout=10, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10)
        with smtp:
            if s.smtp_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                smtp.login(s.smtp_user, password)
            smtp.send_message(message)

    def send_quietly(self, to: str, subject: str, text: str) -> None:
        """Send after the answer has gone; a failure is logged, never shown (it would tell too much)."""
        try:
            self.send(to, subject, text)
        except OSError:  # refused connections and smtplib's own errors alike
            log.exception("could not send %r to %s", subject, to)

    def _to_outbox(self, message: EmailMessage) -> None:
        outbox = Path(self.settings.var_dir) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("@", "_").replace("/", "_") + ".eml"
        (outbox / name).write_bytes(bytes(message))
        log.warning(
            "email to %s (%s) written to %s", message["To"], message["Subject"], outbox / name
        )
