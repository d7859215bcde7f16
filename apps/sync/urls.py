from django.urls import path

from apps.sync.api import SyncView

urlpatterns = [path("sync/", SyncView.as_view(), name="sync")]
