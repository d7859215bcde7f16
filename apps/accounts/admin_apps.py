"""django.contrib.admin with BoneSync's default site (apps/accounts/admin_site.py: the staff second factor). Its own
module: INSTALLED_APPS imports it before any model can be."""

from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    default_site = "apps.accounts.admin_site.StaffAdminSite"
