"""Mail is configured from the environment: SMTP when EMAIL_HOST is set, else the console.

The suite's own Django swaps every mailer for the in-memory one, so these run the real
settings in a `manage.py shell` of their own, against an SMTP server on a local socket."""

import os
import socket
import subprocess
import sys
import threading

from tests.support import REPO_ROOT

SEND = (
    "from django.core import mail; "
    "mail.send_mail('Reset your password', 'Follow the link.', None, ['alice@example.org'])"
)


def serve_one_smtp_session(listener: socket.socket, received: list[str]) -> None:
    """Just enough SMTP to accept one message: every line the client sends is kept."""
    conn, _ = listener.accept()
    conn.settimeout(60)
    with conn, conn.makefile("rb") as lines:
        conn.sendall(b"220 test ready\r\n")
        in_data = False
        for raw in lines:
            line = raw.decode().rstrip("\r\n")
            received.append(line)
            if in_data:
                if line == ".":
                    in_data = False
                    conn.sendall(b"250 queued\r\n")
                continue
            command = line.split(" ", 1)[0].upper()
            if command == "DATA":
                in_data = True
                conn.sendall(b"354 go on\r\n")
            elif command == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 ok\r\n")


def shell(code: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        k: v for k, v in os.environ.items()
        if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("EMAIL_")
    }  # fmt: skip
    return subprocess.run(
        [sys.executable, "-W", "always", "manage.py", "shell", "-c", code],
        cwd=REPO_ROOT, env={**environment, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_with_email_host_set_mail_goes_out_by_smtp():
    received: list[str] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(60)  # a client that never connects fails the test, never hangs it
        server = threading.Thread(
            target=serve_one_smtp_session, args=(listener, received), daemon=True
        )
        server.start()
        port = listener.getsockname()[1]
        done = shell(SEND, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(port), EMAIL_USE_TLS="false")
        server.join(timeout=30)
    assert done.returncode == 0, done.stderr
    commands = [line.lower() for line in received]  # smtplib sends them in lower case
    assert "mail from:<noreply@localhost>" in commands
    assert "rcpt to:<alice@example.org>" in commands
    assert "Subject: Reset your password" in received
    assert "RemovedInDjango" not in done.stderr  # the settings use MAILERS, not EMAIL_*


def test_without_email_host_mail_is_printed_to_the_console():
    done = shell(SEND)
    assert done.returncode == 0, done.stderr
    assert "Subject: Reset your password" in done.stdout
    assert "To: alice@example.org" in done.stdout
    assert "RemovedInDjango" not in done.stderr
