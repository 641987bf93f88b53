import os

from django.core.wsgi import get_wsgi_application

from oms.kernel import config

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
# Checked once as the process loads the app (each gunicorn worker), never per request. Exit code
# 4 is gunicorn's "App failed to load": the master stops instead of restarting the worker forever.
with config.exit_on_error(code=4):
    application = get_wsgi_application()
    config.check_database()
