"""Container health check for the web service: the login page answers (2xx or 3xx).

Sends a host name from ALLOWED_HOSTS and X-Forwarded-Proto: https, so neither the host check
nor the HTTPS redirect of a production configuration gets in the way. Exit 0: healthy.
Usage: python scripts/healthcheck.py [PORT]   (default 8000, the port the image serves on)
"""

import http.client
import os
import sys


def probe_host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*" and not host.startswith("["):
            return host
    return "localhost"


def main(argv: list[str]) -> int:
    port = int(argv[0]) if argv else 8000
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=8)
    try:
        connection.request(
            "GET",
            "/accounts/login/",
            headers={"Host": probe_host(), "X-Forwarded-Proto": "https"},
        )
        status = connection.getresponse().status
    except OSError as exc:
        sys.stderr.write(f"unhealthy: {exc}\n")
        return 1
    if status >= 400:
        sys.stderr.write(f"unhealthy: HTTP {status}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
