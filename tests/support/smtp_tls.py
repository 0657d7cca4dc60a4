"""A real SMTP server for the tests that need TLS and authentication:
aiosmtpd with STARTTLS required (or TLS from the first byte) and AUTH
PLAIN/LOGIN for one user, delivering into a Maildir.

    python3 smtp_tls.py PORT MAILDIR CERT KEY USER PASSWORD starttls|smtps
"""
import signal
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, cert, key, user, password, mode = sys.argv[1:8]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == user.encode()
        and auth_data.password == password.encode()
    )
    return AuthResult(success=ok, handled=False)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
common = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator)
if mode == "starttls":
    controller = Controller(
        Mailbox(maildir),
        tls_context=context,
        require_starttls=True,
        auth_require_tls=True,
        **common,
    )
else:
    controller = Controller(
        Mailbox(maildir),
        ssl_context=context,
        # The whole connection is TLS; aiosmtpd only tracks STARTTLS.
        auth_require_tls=False,
        **common,
    )
controller.start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
