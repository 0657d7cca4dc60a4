"""A real SMTP server for the tests that need TLS and authentication:
aiosmtpd with STARTTLS required (or TLS from the first byte) and AUTH
PLAIN/LOGIN for one user, delivering into a Maildir. Given an OAuth
introspection address (with the introspecting client's credentials in it),
it also takes XOAUTH2 for USER, checking each token there: active, and
issued to the client named USER.

    python3 smtp_tls.py PORT MAILDIR CERT KEY USER PASSWORD starttls|smtps [INTROSPECTION_URL]
"""
import base64
import json
import signal
import ssl
import sys
import urllib.parse
import urllib.request

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, cert, key, user, password, mode = sys.argv[1:8]
introspection = sys.argv[8] if len(sys.argv) > 8 else None


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == user.encode()
        and auth_data.password == password.encode()
    )
    return AuthResult(success=ok, handled=False)


def token_ok(token):
    u = urllib.parse.urlsplit(introspection)
    plain = urllib.parse.urlunsplit((u.scheme, f"{u.hostname}:{u.port}", u.path, u.query, ""))
    req = urllib.request.Request(plain, data=urllib.parse.urlencode({"token": token}).encode())
    creds = f"{urllib.parse.unquote(u.username)}:{urllib.parse.unquote(u.password)}"
    req.add_header("Authorization", "Basic " + base64.b64encode(creds.encode()).decode())
    with urllib.request.urlopen(req, timeout=5) as r:
        answer = json.load(r)
    return answer.get("active") is True and answer.get("client_id") == user


class OAuthMailbox(Mailbox):
    """The Maildir handler, with XOAUTH2 (RFC-less, as Google and Microsoft define it)."""

    async def auth_XOAUTH2(self, server, args):
        if len(args) > 1:
            initial = args[1]
        else:
            initial = await server.challenge_auth("")
            initial = initial if isinstance(initial, bytes) else str(initial).encode()
        raw = base64.b64decode(initial).decode()
        fields = dict(f.split("=", 1) for f in raw.split("\x01") if "=" in f)
        token = fields.get("auth", "").removeprefix("Bearer ")
        ok = fields.get("user") == user and token_ok(token)
        return AuthResult(success=ok, handled=False, auth_data=fields.get("user"))


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
common = dict(hostname="127.0.0.1", port=int(port), authenticator=authenticator)
if mode == "starttls":
    controller = Controller(
        (OAuthMailbox if introspection else Mailbox)(maildir),
        tls_context=context,
        require_starttls=True,
        auth_require_tls=True,
        **common,
    )
else:
    controller = Controller(
        (OAuthMailbox if introspection else Mailbox)(maildir),
        ssl_context=context,
        # The whole connection is TLS; aiosmtpd only tracks STARTTLS.
        auth_require_tls=False,
        **common,
    )
controller.start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
controller.stop()
