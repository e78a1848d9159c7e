"""Signing in and out, changing one's password, and where a caller lands."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from syncs import access
from web.forms import SignInForm
from web.views.base import page


class SignInView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    next_page = reverse_lazy("web:home")


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView): a link cannot sign anyone out."""

    next_page = reverse_lazy("web:login")


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "web/password_change.html"
    success_url = reverse_lazy("web:password_change_done")


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "web/password_change_done.html"


@page
def home(request):
    """A district or school admin of one organization lands on its sync tab; staff, and
    anyone with several organizations, get the list of the organizations they reach."""
    organizations = access.organizations(request.reach).order_by("name")
    if not request.reach.staff_all:
        only = list(organizations[:2])
        if len(only) == 1:
            return redirect("web:tab", org_id=only[0].pk)
    return render(request, "web/home.html", {"organizations": organizations})
