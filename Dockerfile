# One image for every OMS process: web (gunicorn), Celery worker, Celery beat and one-shot jobs
# (migrate, seed_demo, check --deploy). Configuration comes from the environment at run time;
# see docs/configuration.md and docs/deploy.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=oms.settings \
    OMS_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000 \
    WEB_CONCURRENCY=3

WORKDIR /app

# An unprivileged user owns nothing but its home and the runtime directory (/app/var).
RUN groupadd --system --gid 10001 oms \
 && useradd --system --uid 10001 --gid oms --create-home --home-dir /home/oms --shell /usr/sbin/nologin oms

# WeasyPrint (documents and the rebate claim as PDF) needs pango, harfbuzz's subsetter and fonts:
# DejaVu (Latin), WenQuanYi Zen Hei (Chinese, Japanese), Amiri (Arabic).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-dejavu-core fonts-wqy-zenhei fonts-hosny-amiri \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first: this layer is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN pip install --no-compile .

COPY --chown=root:root . .

# Static files are collected into the image and served by WhiteNoise. The key below exists only
# for this build step (settings refuse to start with DEBUG off and no SECRET_KEY); it is never
# used at run time.
RUN DEBUG=0 SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime-0123456789 \
    OMS_VAR_DIR=/tmp/oms-build python manage.py collectstatic --noinput \
 && rm -rf /tmp/oms-build \
 && mkdir -p /app/var/prometheus \
 && chown -R oms:oms /app/var

USER oms

EXPOSE 8000

# /healthz checks the database and the broker (503 when either is down). The request uses the
# first ALLOWED_HOSTS entry as Host so it passes Django's host check in production.
HEALTHCHECK --interval=30s --timeout=6s --start-period=30s --retries=3 \
  CMD python -c "import os,sys,urllib.request as u; h=(os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); h='localhost' if h in ('','*') else h; r=u.Request('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','8000'), headers={'Host': h, 'X-Forwarded-Proto': 'https'}); sys.exit(0 if u.urlopen(r, timeout=5).status == 200 else 1)"

# The same server as `make serve`: gunicorn binds 0.0.0.0:$PORT and starts $WEB_CONCURRENCY
# workers (both read from the environment). Worker and beat containers override this command.
CMD ["gunicorn", "oms.wsgi:application", "--timeout", "60", "--graceful-timeout", "30", "--keep-alive", "5", "--access-logfile", "-", "--error-logfile", "-"]
