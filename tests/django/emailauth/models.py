"""A custom user model that logs in by email (`USERNAME_FIELD = "email"`), as
many projects have: it is not AUTH_USER_MODEL here, only dumped, so that the
import's `--user-model emailauth.user` meets a real one."""
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models
from django.utils import timezone


class User(AbstractBaseUser):
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    USERNAME_FIELD = "email"

    class Meta:
        app_label = "emailauth"
