from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from oms.kernel import events

from .tasks import record_effect


@csrf_exempt
@require_POST
def publish(request):
    """A web request that publishes, as any order capture will."""
    order_id = request.GET.get("order", "1")
    with transaction.atomic():
        event = events.publish("test.request", {"seq": 1}, aggregate=("order", order_id))
    return JsonResponse({"event_id": event.pk}, status=201)


@csrf_exempt
@require_POST
def enqueue(request):
    """Publish a Celery task from the web process; a separate worker process runs it."""
    marker = request.GET["marker"]
    result = record_effect.apply_async(args=[marker])
    return JsonResponse({"task_id": result.id, "web_pid": __import__("os").getpid()}, status=202)
