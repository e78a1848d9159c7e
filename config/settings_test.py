"""Test settings: only what tests need differs from config/settings.py."""

from cryptography.fernet import Fernet
from django.core.management.utils import get_random_secret_key

from config.settings import *  # noqa: F403

SECRET_KEY = get_random_secret_key()
# Fresh keys per test session (first encrypts); tests override them to check rotation.
FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode() for _ in range(2)]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tasks run inline when their transaction commits; the real worker is tested in
# tests/syncs/services/test_worker_process.py with its own settings.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tasks run inline, in the test runner, which keeps its CPU priority (syncs.priority is
# tested in child processes).
ROLLCALL = {**ROLLCALL, "HEARTBEAT_SECONDS": 0, "WORKER_NICE": 0}  # noqa: F405
# No collectstatic in tests: serve nothing from STATIC_ROOT.
MIDDLEWARE = [m for m in MIDDLEWARE if "whitenoise" not in m]  # noqa: F405
# Webhook tests post to receivers on 127.0.0.1 over plain http; tests of the address
# checks turn this off again.
ROLLCALL_WEBHOOKS_ALLOW_LOOPBACK = True
