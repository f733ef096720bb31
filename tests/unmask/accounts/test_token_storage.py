"""Tokens are stored hashed: the key the client got appears nowhere in the database."""

from io import StringIO

import pytest
from django.core.management import call_command
from knox.crypto import hash_token
from knox.models import AuthToken

pytestmark = pytest.mark.django_db


def test_no_plain_key_is_stored(alice, sign_in):
    keys = [sign_in(alice, device)["token"] for device in ("laptop", "phone")]
    dump = StringIO()
    call_command("dumpdata", "knox", "accounts", stdout=dump)
    for key in keys:
        assert key not in dump.getvalue()
        stored = AuthToken.objects.get(token_key=key[:15])
        assert stored.digest == hash_token(key)
        assert stored.digest != key
