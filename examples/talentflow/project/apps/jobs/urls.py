from rest_framework.routers import SimpleRouter

from .views import ApplicationViewSet, JobViewSet

router = SimpleRouter()
router.register("applications", ApplicationViewSet, basename="application")
router.register("", JobViewSet, basename="job")

urlpatterns = router.urls
