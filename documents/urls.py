from django.urls import path

from . import views

app_name = "documents"

urlpatterns = [
    path("", views.document_list_view, name="list"),
    path("mail/", views.mail_catcher_view, name="mail"),
    path("mail/<int:pk>/retry", views.mail_retry_view, name="mail-retry"),
    path("<int:pk>/", views.document_detail_view, name="detail"),
    path("<int:pk>/file", views.document_file_view, name="file"),
    path("<int:pk>/<slug:action>", views.document_action_view, name="action"),
]

# The customer's signed links: no sign-in, the token is the permission (documents.links).
public_urlpatterns = (
    [
        path("<str:token>", views.public_view, name="view"),
        path("o/<str:token>.gif", views.public_open, name="open"),
        path("u/<str:token>", views.public_unsubscribe, name="unsubscribe"),
    ],
    "documents-public",
)
