"""Builds a legacy Django database and dumps it as a team migrating would.

Usage: build_legacy.py OUT_DIR. Writes OUT_DIR/legacy.sqlite3, OUT_DIR/dump.json
(`dumpdata auth.user authtoken.token token_blacklist contenttypes`),
OUT_DIR/dump.jsonl (the same, JSON Lines), OUT_DIR/emailauth.json
(`dumpdata emailauth.user`), and prints on stdout what the test needs to know:
each user's password and hasher, the auth-token keys, and SimpleJWT tokens
(a live access and refresh token, a blacklisted refresh token).

Hashes are Django's own (`make_password` with each hasher, at low cost so the
suite stays fast), except the formats Django no longer writes, which are
written by hand as older versions wrote them.
"""
import hashlib
import json
import os
import sys

# The script's own directory is on sys.path: legacy_site is importable.
from legacy_site.fresh import fresh_database  # noqa: E402

out = fresh_database(sys.argv[1], "legacy.sqlite3")

from django.contrib.auth import hashers  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from rest_framework_simplejwt.tokens import RefreshToken  # noqa: E402


def cheap(cls, **attrs):
    h = cls()
    for k, v in attrs.items():
        setattr(h, k, v)
    return h


def salted(algo, salt, pw):
    return f"{algo}${salt}${hashlib.new(algo, (salt + pw).encode()).hexdigest()}"


def argon2i(pw):
    from argon2 import low_level

    raw = low_level.hash_secret(pw.encode(), b"legacysalt1234", time_cost=2, memory_cost=512,
                                parallelism=2, hash_len=16, type=low_level.Type.I)
    return "argon2" + raw.decode()


pbkdf2 = cheap(hashers.PBKDF2PasswordHasher, iterations=1000)
# (username, hasher label, password, how the hash is made)
USERS = [
    ("u_pbkdf2", "pbkdf2_sha256", lambda p: pbkdf2.encode(p, pbkdf2.salt())),
    ("u_pbkdf2_old", "pbkdf2_sha256", lambda p: pbkdf2.encode(p, pbkdf2.salt(), iterations=2000)),
    ("u_pbkdf2_sha1", "pbkdf2_sha1",
     lambda p: cheap(hashers.PBKDF2SHA1PasswordHasher, iterations=1000).encode(p, "sha1salt")),
    ("u_argon2id", "argon2",
     lambda p: cheap(hashers.Argon2PasswordHasher, time_cost=1, memory_cost=256, parallelism=1).encode(p, "argonsalt123")),
    ("u_argon2i", "argon2", argon2i),
    ("u_bcrypt_sha256", "bcrypt_sha256",
     lambda p: cheap(hashers.BCryptSHA256PasswordHasher, rounds=4).encode(p, cheap(hashers.BCryptSHA256PasswordHasher, rounds=4).salt())),
    ("u_bcrypt", "bcrypt",
     lambda p: cheap(hashers.BCryptPasswordHasher, rounds=4).encode(p, cheap(hashers.BCryptPasswordHasher, rounds=4).salt())),
    ("u_scrypt", "scrypt",
     lambda p: cheap(hashers.ScryptPasswordHasher, work_factor=2 ** 10).encode(p, "scryptsalt")),
    ("u_md5", "md5", lambda p: hashers.MD5PasswordHasher().encode(p, "md5salt")),
    ("u_sha1", "sha1", lambda p: salted("sha1", "sha1salt", p)),
    ("u_md5_bare", "unsalted_md5", lambda p: hashlib.md5(p.encode()).hexdigest()),
    ("u_md5_empty_salt", "unsalted_md5", lambda p: "md5$$" + hashlib.md5(p.encode()).hexdigest()),
    ("u_sha1_unsalted", "unsalted_sha1", lambda p: "sha1$$" + hashlib.sha1(p.encode()).hexdigest()),
]

facts = {"users": [], "tokens": {}}
for i, (name, hasher, make) in enumerate(USERS):
    pw = f"old-{name}-pw"
    u = User.objects.create(username=name, email=f"{name}@Legacy.Example", is_staff=(i == 0))
    u.password = make(pw)
    u.save()
    # Django 5.2 no longer reads the formats older versions wrote by hand here.
    if hasher not in ("sha1", "unsalted_md5", "unsalted_sha1"):
        assert hashers.check_password(pw, u.password), (name, u.password)
    facts["users"].append({"id": u.id, "username": name, "email": f"{name}@legacy.example", "password": pw,
                           "hasher": hasher, "active": True, "usable": True})

# An unusable password (a social-login account) and an inactive account.
u = User.objects.create(username="u_unusable", email="unusable@legacy.example")
u.set_unusable_password()
u.save()
facts["users"].append({"id": u.id, "username": "u_unusable", "email": "unusable@legacy.example",
                       "password": "", "hasher": "unusable", "active": True, "usable": False})
u = User.objects.create(username="u_inactive", email="inactive@legacy.example", is_active=False)
u.password = cheap(hashers.BCryptSHA256PasswordHasher, rounds=4).encode("old-inactive-pw", cheap(hashers.BCryptSHA256PasswordHasher, rounds=4).salt())
u.save()
facts["users"].append({"id": u.id, "username": "u_inactive", "email": "inactive@legacy.example",
                       "password": "old-inactive-pw", "hasher": "bcrypt_sha256", "active": False, "usable": True})

by_name = {u.username: u for u in User.objects.all()}
for name in ["u_bcrypt_sha256", "u_pbkdf2", "u_bcrypt"]:
    facts["tokens"][name] = Token.objects.create(user=by_name[name]).key

live = RefreshToken.for_user(by_name["u_bcrypt_sha256"])
facts["access"] = str(live.access_token)
facts["access_user"] = "u_bcrypt_sha256"
facts["refresh_live"] = str(live)
dead = RefreshToken.for_user(by_name["u_bcrypt"])
dead.blacklist()
facts["refresh_blacklisted"] = str(dead)

# The custom email-login model.
from emailauth.models import User as EmailUser  # noqa: E402

e = EmailUser(email="Mail.User@Legacy.Example")
e.set_password("old-email-user-pw")
e.password = cheap(hashers.BCryptSHA256PasswordHasher, rounds=4).encode("old-email-user-pw", cheap(hashers.BCryptSHA256PasswordHasher, rounds=4).salt())
e.save()
facts["email_user"] = {"id": e.id, "email": "Mail.User@legacy.example", "password": "old-email-user-pw"}

models = ["auth.user", "authtoken.token", "token_blacklist", "contenttypes"]
call_command("dumpdata", *models, output=os.path.join(out, "dump.json"), indent=1, verbosity=0)
call_command("dumpdata", *models, format="jsonl", output=os.path.join(out, "dump.jsonl"), verbosity=0)
call_command("dumpdata", "emailauth.user", output=os.path.join(out, "emailauth.json"), verbosity=0)
print(json.dumps(facts))
