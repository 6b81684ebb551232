"""A fresh legacy database for the scripts beside this package: the file
removed if it exists, Django set up on it (`legacy_site.settings` reads
LEGACY_DB), and every table created."""
import os


def fresh_database(out_dir, name):
    out = os.path.abspath(out_dir)
    os.makedirs(out, exist_ok=True)
    db = os.path.join(out, name)
    if os.path.exists(db):
        os.remove(db)
    os.environ["LEGACY_DB"] = db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "legacy_site.settings")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)
    return out
