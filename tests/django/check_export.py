"""The way back: loads a `polyauth users export` file into a fresh legacy
database with Django's own `loaddata`, then checks each expected user.

Usage: check_export.py OUT_DIR EXPORT_FILE < expectations.json, where the
expectations are [{"username", "password", "active", "token"?}]. Prints one
line per failed check and exits 1 if any failed."""
import json
import sys

# The script's own directory is on sys.path: legacy_site is importable.
from legacy_site.fresh import fresh_database  # noqa: E402

out = fresh_database(sys.argv[1], "restored.sqlite3")

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

call_command("loaddata", sys.argv[2], verbosity=0)

failed = []
for e in json.load(sys.stdin):
    try:
        u = User.objects.get(username=e["username"])
    except User.DoesNotExist:
        failed.append(f"{e['username']}: not loaded")
        continue
    if not u.check_password(e["password"]):
        failed.append(f"{e['username']}: check_password is false for {u.password[:20]}…")
    if u.is_active != e["active"]:
        failed.append(f"{e['username']}: is_active {u.is_active}")
    if e.get("token") and not Token.objects.filter(key=e["token"], user=u).exists():
        failed.append(f"{e['username']}: token {e['token'][:6]}… not loaded")
print("\n".join(failed) or f"ok: {User.objects.count()} users, {Token.objects.count()} tokens")
sys.exit(1 if failed else 0)
