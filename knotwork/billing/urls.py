from django.urls import path

from knotwork.billing import deposit_views, fee_views, membership_views, prepaid_views, report_views, shop_views, statement_views, views

urlpatterns = [
    # Staff: settings (owner), invoices, check-out, client accounts, refunds.
    path("billing/settings/", views.billing_settings, name="billing_settings"),
    path("billing/settings/tax-rates/<int:pk>/toggle/", views.tax_rate_toggle, name="tax_rate_toggle"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/new/", views.invoice_new, name="invoice_new"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/lines/", views.invoice_line_add, name="invoice_line_add"),
    path("invoices/<int:pk>/lines/<int:line_id>/remove/", views.invoice_line_remove, name="invoice_line_remove"),
    path("invoices/<int:pk>/tip/", views.invoice_tip_add, name="invoice_tip_add"),
    path("invoices/<int:pk>/issue/", views.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/pay/", views.invoice_pay, name="invoice_pay"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/credit-note/", views.invoice_credit, name="invoice_credit"),
    path("invoices/<int:pk>/invoice.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("payments/<int:pk>/refund/", views.payment_refund, name="payment_refund"),
    path("payments/<int:pk>/receipt.pdf", views.payment_receipt, name="payment_receipt"),
    path("appointments/<int:pk>/checkout/", views.appointment_checkout, name="appointment_checkout"),
    path("clients/<int:client_id>/account/", views.client_account, name="client_account"),
    # Gift cards and packages (the desk; products by the owner).
    path("gift-cards/", prepaid_views.gift_card_list, name="gift_card_list"),
    path("gift-cards/<int:pk>/", prepaid_views.gift_card_detail, name="gift_card_detail"),
    path("clients/<int:client_id>/gift-cards/new/", prepaid_views.gift_card_sell, name="gift_card_sell"),
    path("packages/", prepaid_views.package_list, name="package_list"),
    path("packages/<int:pk>/", prepaid_views.package_detail, name="package_detail"),
    path("packages/products/<int:pk>/toggle/", prepaid_views.package_product_toggle, name="package_product_toggle"),
    path("clients/<int:client_id>/packages/new/", prepaid_views.package_sell, name="package_sell"),
    # The client's own invoices and receipts.
    path("portal/<int:client_id>/invoices/", views.portal_invoices, name="portal_invoices"),
    path("portal/invoices/<int:invoice_id>.pdf", views.portal_invoice_pdf, name="portal_invoice_pdf"),
    # Online card payment of the client's own invoice, and the card provider's webhook.
    path("portal/invoices/<int:invoice_id>/pay/", views.portal_invoice_pay, name="portal_invoice_pay"),
    path("portal/invoices/<int:invoice_id>/pay/done/", views.portal_invoice_pay_return, name="portal_invoice_pay_return"),
    path("billing/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    # The owner's money reports (a therapist: their own sales only).
    path("billing/reports/", report_views.money_reports, name="money_reports"),
    path("billing/reports/day/", report_views.report_day, name="money_report_day"),
    path("billing/reports/sales/", report_views.report_sales, name="money_report_sales"),
    path("billing/reports/ageing/", report_views.report_ageing, name="money_report_ageing"),
    path("billing/reports/liabilities/", report_views.report_liabilities, name="money_report_liabilities"),
    path("billing/reports/tax/", report_views.report_tax, name="money_report_tax"),
    path("billing/reports/refunds/", report_views.report_refunds, name="money_report_refunds"),
    path("billing/reports/tips/", report_views.report_tips, name="money_report_tips"),
    # Card on file and cancellation / no-show fees.
    path("portal/<int:client_id>/card/", fee_views.portal_card, name="portal_card"),
    path("portal/<int:client_id>/card/done/", fee_views.portal_card_return, name="portal_card_return"),
    path("portal/<int:client_id>/card/remove/", fee_views.portal_card_remove, name="portal_card_remove"),
    path("clients/<int:client_id>/card/remove/", fee_views.client_card_remove, name="client_card_remove"),
    path("fees/", fee_views.fee_list, name="fee_list"),
    path("fees/<int:pk>/charge/", fee_views.fee_charge, name="fee_charge"),
    path("fees/<int:pk>/waive/", fee_views.fee_waive, name="fee_waive"),
    # Deposits and prepayment: the online booking's payment step.
    path("booking/deposit/", deposit_views.book_deposit, name="book_deposit"),
    path("booking/deposit/card/", deposit_views.book_deposit_card, name="book_deposit_card"),
    # Buying gift cards and packages online, and the desk's re-send of a gift card's e-mail.
    path("gift-cards/buy/<slug:slug>/", shop_views.gift_card_buy, name="shop_gift_card"),
    path("portal/<int:client_id>/shop/", shop_views.portal_shop, name="portal_shop"),
    path("orders/<int:invoice_id>/pay/", shop_views.order_pay, name="shop_order_pay"),
    path("orders/<int:invoice_id>/pay/done/", shop_views.order_done, name="shop_order_done"),
    path("gift-cards/<int:pk>/resend/", shop_views.gift_card_resend, name="gift_card_resend"),
    # Memberships: the owner's plans, the desk's members, a client's membership.
    path("billing/settings/memberships/", membership_views.plan_list, name="membership_plans"),
    path("billing/settings/memberships/<int:pk>/toggle/", membership_views.plan_toggle, name="membership_plan_toggle"),
    path("memberships/", membership_views.membership_list, name="membership_list"),
    path("memberships/<int:pk>/", membership_views.membership_detail, name="membership_detail"),
    path("memberships/<int:pk>/charge/", membership_views.membership_charge, name="membership_charge"),
    path("memberships/<int:pk>/pause/", membership_views.membership_pause, name="membership_pause"),
    path("memberships/<int:pk>/resume/", membership_views.membership_resume, name="membership_resume"),
    path("memberships/<int:pk>/keep/", membership_views.membership_keep, name="membership_keep"),
    path("memberships/<int:pk>/cancel/", membership_views.membership_cancel, name="membership_cancel"),
    path("clients/<int:client_id>/memberships/new/", membership_views.membership_sign_up, name="membership_sign_up"),
    # Statements, US superbills and receipts by e-mail.
    path("clients/<int:client_id>/statement/", statement_views.client_statement, name="client_statement"),
    path("portal/<int:client_id>/statement/", statement_views.portal_statement, name="portal_statement"),
    path("invoices/<int:pk>/superbill.pdf", statement_views.invoice_superbill, name="invoice_superbill"),
    path("payments/<int:pk>/superbill.pdf", statement_views.payment_superbill, name="payment_superbill"),
    path("payments/<int:pk>/receipt/email/", statement_views.payment_receipt_email, name="payment_receipt_email"),
    path("billing/settings/superbill/", statement_views.superbill_settings, name="superbill_settings"),
]
