#!/usr/bin/env bash
# Installs the pinned Django packages the migration tests and the import
# benchmark run (a legacy Django backend) into target/django-legacy when they
# are missing there: pip into that directory, never the system's Python
# (python3-pip from apt only when pip itself is missing). Prints the
# directory, for PYTHONPATH.
set -euo pipefail
cd "$(dirname "$0")/.."
DJANGO_DIR="$PWD/target/django-legacy"
if ! PYTHONPATH="$DJANGO_DIR" python3 -c "import django, rest_framework, rest_framework_simplejwt, argon2, bcrypt" 2>/dev/null; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    echo "django-packages.sh: installing python3-pip (apt-get)" >&2
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-pip >/dev/null
  fi
  echo "django-packages.sh: installing the pinned Django packages into target/django-legacy (pip)" >&2
  PIP_BREAK_SYSTEM_PACKAGES=1 python3 -m pip install --quiet --disable-pip-version-check --target "$DJANGO_DIR" \
    Django==5.2.19 djangorestframework==3.18.3 djangorestframework-simplejwt==5.5.1 PyJWT==2.15.1 \
    bcrypt==4.3.0 argon2-cffi==25.1.0 >&2
fi
echo "$DJANGO_DIR"
