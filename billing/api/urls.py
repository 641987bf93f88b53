from django.urls import path

from .views import (
    AgingApi,
    CreditMemoCreateApi,
    InvoiceVoidApi,
    OfflinePaymentApi,
    OrderPaymentsApi,
    PaymentRefundApi,
    PaymentWebhookApi,
    StatementImportApi,
)

urlpatterns = [
    path("orders/<str:number>/payments", OrderPaymentsApi.as_view(), name="order-payments"),
    path("payments/offline", OfflinePaymentApi.as_view(), name="payment-offline"),
    path("payments/webhooks/<str:provider>", PaymentWebhookApi.as_view(), name="payment-webhook"),
    path("payments/<str:number>/refund", PaymentRefundApi.as_view(), name="payment-refund"),
    path("invoices/<str:number>/credit-memos", CreditMemoCreateApi.as_view(), name="invoice-credit-memo"),
    path("invoices/<str:number>/void", InvoiceVoidApi.as_view(), name="invoice-void"),
    path("statements", StatementImportApi.as_view(), name="statement-import"),
    path("receivables/aging", AgingApi.as_view(), name="receivables-aging"),
]
