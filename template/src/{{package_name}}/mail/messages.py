"""Messages: multipart plain text and HTML, rendered from the templates in mail/templates/.

A message NAME has `NAME.txt` and `NAME.html`, and its subject in SUBJECTS. The HTML is escaped
as any page is; the text is not, as no mail program reads it as markup.
"""

from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).resolve().parent / "templates"
SUBJECTS = {
    "verify_email": "Confirm your e-mail address",
    "sign_up_attempt": "Someone tried to sign up with your e-mail address",
    "username_taken": "That username is taken",
    "password_reset": "Reset your password",
    "password_changed": "Your password was changed",
    "email_changed": "Your e-mail address was changed",
    "recovery_code_used": "A recovery code was used to sign in",
    "second_factor_added": "An authenticator app was set up for your account",
    "second_factor_removed": "The authenticator app of your account was removed",
    "passkey_added": "A passkey was added to your account",
    "passkey_removed": "A passkey of your account was removed",
    "provider_linked": "Another account can now sign in to yours",
}

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def render_message(name: str, *, sender: str, to: str, **context: Any) -> EmailMessage:
    """The message NAME to TO, its templates rendered with CONTEXT."""
    message = EmailMessage()
    message["Subject"] = SUBJECTS[name]
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].rstrip(">") or None)
    message.set_content(_environment.get_template(f"{name}.txt").render(context))
    message.add_alternative(_environment.get_template(f"{name}.html").render(context), subtype="html")
    return message
