"""The home dashboard and the month-end pages, as two namespaces for integration/urls.py."""

from django.urls import path

from reconciliation import views

dashboard_urls = ([path("", views.home, name="home")], "dashboard")

month_end_urls = (
    [
        path("", views.month_end_index, name="index"),
        path("<str:month>/", views.month_end_month, name="month"),
        path("<str:month>/summary.csv", views.month_end_summary_csv, name="summary_csv"),
        path("<str:month>/month-end.xlsx", views.month_end_xlsx, name="xlsx"),
        path("<str:month>/checklist/", views.month_end_check, name="check"),
        path("<str:month>/<str:figure>/", views.month_end_records, name="records"),
        path("<str:month>/<str:figure>.csv", views.month_end_records_csv, name="records_csv"),
    ],
    "month_end",
)
