from django.urls import URLPattern, URLResolver, path

from apps.supplements import api, api_stock

P = "patients/<uuid:patient_id>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path("calcium-foods/", api.CalciumFoodListView.as_view(), name="calcium-foods"),
    path(f"{P}supplement-plans/", api.SupplementPlanListCreateView.as_view(), name="supplement-plans"),
    path(
        f"{P}supplement-plans/<uuid:supplement_plan_id>/",
        api.SupplementPlanDetailView.as_view(),
        name="supplement-plan-detail",
    ),
    path(
        f"{P}supplement-plans/<uuid:supplement_plan_id>/stock/",
        api_stock.SupplementPlanStockView.as_view(),
        name="supplement-plan-stock",
    ),
    path(
        f"{P}supplement-plans/<uuid:supplement_plan_id>/refill/",
        api_stock.SupplementPlanRefillView.as_view(),
        name="supplement-plan-refill",
    ),
    path(f"{P}supplement-intakes/", api.SupplementIntakeListCreateView.as_view(), name="supplement-intakes"),
    path(f"{P}dietary-calcium/", api.DietaryCalciumListCreateView.as_view(), name="dietary-calcium"),
    path(f"{P}nutrition/daily/", api.NutritionDailyView.as_view(), name="nutrition-daily"),
]
