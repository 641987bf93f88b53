from django.urls import path

from . import claim_views as v

urlpatterns = [
    path("rebates/claims/", v.ClaimListApi.as_view(), name="rebate-claim-list"),
    path("rebates/claims/generate/", v.ClaimGenerateApi.as_view(), name="rebate-claims-generate"),
    path("rebates/claims/<int:pk>/", v.ClaimDetailApi.as_view(), name="rebate-claim-detail"),
    path("rebates/claims/<int:pk>/submit/", v.ClaimSubmitApi.as_view(), name="rebate-claim-submit"),
    path("rebates/claims/<int:pk>/approve/", v.ClaimApproveApi.as_view(), name="rebate-claim-approve"),
    path("rebates/claims/<int:pk>/dispute/", v.ClaimDisputeApi.as_view(), name="rebate-claim-dispute"),
    path("rebates/claims/<int:pk>/cancel/", v.ClaimCancelApi.as_view(), name="rebate-claim-cancel"),
    path("rebates/claims/<int:pk>/settle/", v.ClaimSettleApi.as_view(), name="rebate-claim-settle"),
    path("rebates/claims/<int:pk>/write-off/", v.ClaimWriteOffApi.as_view(), name="rebate-claim-write-off"),
    path("rebates/settlements/", v.SettlementListApi.as_view(), name="rebate-settlement-list"),
    path(
        "rebates/checkbook/programs/<int:pk>/",
        v.ProgramCheckbookApi.as_view(),
        name="rebate-checkbook-program",
    ),
    path(
        "rebates/checkbook/suppliers/<int:pk>/",
        v.SupplierCheckbookApi.as_view(),
        name="rebate-checkbook-supplier",
    ),
    path(
        "rebates/checkbook/customers/<int:pk>/",
        v.CustomerCheckbookApi.as_view(),
        name="rebate-checkbook-customer",
    ),
]
