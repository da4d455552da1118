#!/usr/bin/python3
"""A loopback SMTP server for tests (Debian's python3-aiosmtpd).

Usage: /usr/bin/python3 smtp_sink.py --dir DIR [--reject-rcpt ADDR]...
           [--tempfail N] [--auth USER:PASSWORD]

Listens on 127.0.0.1 on a free port and writes the port number to DIR/port
once it accepts connections. Each message it accepts becomes a directory
DIR/msg-<n> (n = 1, 2, ...; renamed into place only when complete):

    raw.eml           the message exactly as received
    message.json      envelope and what Python's email package reads from it:
                      {"mail_from", "rcpt_tos", "size", "subject" (decoded),
                       "raw_subject", "from", "to", "date", "message_id",
                       "auto_submitted", "content_type",
                       "parts": [{"content_type", "charset", "disposition",
                                  "filename", "encoding", "size"}]}
    body.txt          the text/plain body, decoded, UTF-8 (when present)
    body.html         the text/html body, decoded, UTF-8 (when present)
    attachments/NAME  each attachment, decoded to its original bytes

--reject-rcpt ADDR answers 550 to RCPT TO:<ADDR>; --tempfail N answers 451 to
the first N MAIL FROM commands; --auth requires AUTH (PLAIN or LOGIN, allowed
without TLS) with these credentials. Stops on SIGTERM or SIGINT.
"""
import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out_dir, reject, tempfail):
        self.out_dir = out_dir
        self.reject = {a.lower() for a in reject}
        self.tempfail = tempfail
        self.count = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.tempfail > 0:
            self.tempfail -= 1
            return "451 4.3.0 Try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        try:
            save(self.out_dir, self.count, envelope)
        except Exception as exc:  # keep serving; the test sees no message
            print(f"smtp_sink: cannot save message: {exc!r}", file=sys.stderr)
            return "451 4.3.0 Cannot save the message"
        return "250 Message accepted"


def save(out_dir, n, envelope):
    raw = envelope.original_content
    tmp = os.path.join(out_dir, f".msg-{n}.tmp")
    os.makedirs(os.path.join(tmp, "attachments"))
    with open(os.path.join(tmp, "raw.eml"), "wb") as f:
        f.write(raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    raw_msg = email.message_from_bytes(raw)  # compat32: header values as sent
    parts = []
    for part in msg.walk():
        if part.is_multipart():
            parts.append({"content_type": part.get_content_type()})
            continue
        payload = part.get_payload(decode=True) or b""
        info = {
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "disposition": part.get_content_disposition(),
            "filename": part.get_filename(),
            "encoding": part.get("Content-Transfer-Encoding"),
            "size": len(payload),
        }
        parts.append(info)
        if info["disposition"] == "attachment" and info["filename"]:
            name = os.path.basename(info["filename"])
            with open(os.path.join(tmp, "attachments", name), "wb") as f:
                f.write(payload)
    for kind, name in (("plain", "body.txt"), ("html", "body.html")):
        body = msg.get_body(preferencelist=(kind,))
        if body is not None and body.get_content_disposition() != "attachment":
            # line ends as LF, whatever the transfer used (SMTP needs CRLF)
            text = body.get_content().replace("\r\n", "\n")
            with open(os.path.join(tmp, name), "w", encoding="utf-8", newline="") as f:
                f.write(text)
    info = {
        "mail_from": envelope.mail_from,
        "rcpt_tos": envelope.rcpt_tos,
        "size": len(raw),
        "subject": str(msg["subject"]) if msg["subject"] is not None else None,
        "raw_subject": raw_msg["subject"],
        "from": str(msg["from"]) if msg["from"] is not None else None,
        "to": str(msg["to"]) if msg["to"] is not None else None,
        "to_addresses": [a.addr_spec for a in msg["to"].addresses] if msg["to"] else [],
        "to_names": [a.display_name for a in msg["to"].addresses] if msg["to"] else [],
        "date": str(msg["date"]) if msg["date"] is not None else None,
        "date_count": len(msg.get_all("date") or []),
        "message_id": msg["message-id"],
        "auto_submitted": msg["auto-submitted"],
        "content_type": msg.get_content_type(),
        "defects": [type(d).__name__ for p in msg.walk() for d in p.defects],
        "parts": parts,
    }
    with open(os.path.join(tmp, "message.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, ensure_ascii=False, indent=1)
    os.rename(tmp, os.path.join(out_dir, f"msg-{n}"))


def main():
    # AUTH without TLS is what the tests want; aiosmtpd warns about it.
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reject-rcpt", action="append", default=[])
    ap.add_argument("--tempfail", type=int, default=0)
    ap.add_argument("--auth")
    args = ap.parse_args()

    handler = Sink(args.dir, args.reject_rcpt, args.tempfail)
    kwargs = {}
    if args.auth:
        user, _, password = args.auth.partition(":")

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            # handled=False: the server answers 535 itself (True would mean
            # the authenticator already replied, and the client would wait)
            return AuthResult(success=ok, handled=False)

        kwargs = {"authenticator": authenticator, "auth_required": True,
                  "auth_require_tls": False}

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, hostname="sink.test", loop=loop, **kwargs), sock=sock))
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    tmp = os.path.join(args.dir, ".port.tmp")
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, os.path.join(args.dir, "port"))
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


if __name__ == "__main__":
    main()
