from django.urls import path

from .views import ChannelDetailApi, ChannelListApi

urlpatterns = [
    path("channels/", ChannelListApi.as_view(), name="channel-list"),
    path("channels/<slug:code>/", ChannelDetailApi.as_view(), name="channel-detail"),
]
