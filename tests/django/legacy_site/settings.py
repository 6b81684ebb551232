"""A minimal legacy Django backend to migrate from: auth, DRF's authtoken,
SimpleJWT's blacklist, every password hasher Django ships, and a custom
email-login user model (`emailauth`). The database is a sqlite file named by
LEGACY_DB; SECRET_KEY (also SimpleJWT's signing key) comes from
LEGACY_SECRET_KEY, so polyauth's `[jwt] signing_key` can be set to it."""
import os

SECRET_KEY = os.environ.get("LEGACY_SECRET_KEY", "legacy-insecure-secret-key-for-tests-only-0123")
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_simplejwt.token_blacklist",
    "emailauth",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("LEGACY_DB", "legacy.sqlite3"),
    }
}
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]
SIMPLE_JWT = {}
