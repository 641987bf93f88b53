from django.urls import path

from . import views

app_name = "orders"

urlpatterns = [
    path("new/", views.order_entry, name="entry"),
    path("new/drafts/<str:source>/delete", views.draft_delete, name="draft-delete"),
    path("new/line", views.entry_line, name="entry-line"),
    path("new/quote", views.entry_quote, name="entry-quote"),
    path("new/customers", views.customer_search, name="customer-search"),
    path("new/customer", views.customer_card, name="customer-card"),
    path("new/products", views.product_search, name="product-search"),
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/lines/<int:line_id>/trace", views.line_trace, name="line-trace"),
    path("<str:number>/cancel", views.order_cancel_view, name="cancel"),
    path("<str:number>/revise", views.order_revise, name="revise"),
    path("<str:number>/holds", views.hold_apply_view, name="hold-apply"),
    path("<str:number>/holds/<int:hold_id>/release", views.hold_release_view, name="hold-release"),
    path("<str:number>/approve", views.order_approve_view, name="approve"),
    path("<str:number>/reject", views.order_reject_view, name="reject"),
]
