from django.urls import URLPattern, URLResolver, path

from apps.exercise import api

P = "patients/<uuid:patient_id>/"
urlpatterns: list[URLPattern | URLResolver] = [
    path(f"{P}exercise-plans/", api.ExercisePlanListCreateView.as_view(), name="exercise-plans"),
    path(
        f"{P}exercise-plans/<uuid:exercise_plan_id>/",
        api.ExercisePlanDetailView.as_view(),
        name="exercise-plan-detail",
    ),
    path(f"{P}exercise-sessions/", api.ExerciseSessionListCreateView.as_view(), name="exercise-sessions"),
    path(f"{P}exercise/weekly/", api.ExerciseWeeklyView.as_view(), name="exercise-weekly"),
]
