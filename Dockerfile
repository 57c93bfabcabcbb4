# One image runs the web server (the default command) or the worker:
#   docker run IMAGE                             the web server (gunicorn) on :8000
#   docker run IMAGE python manage.py worker     the django-q2 cluster
# Both need the same SECRET_KEY, DATABASE_URL, STUDIO_BROKER_URL and media volume.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STUDIO_DATA_DIR=/data \
    STUDIO_STATIC_ROOT=/app/staticfiles \
    PORT=8000

# No system packages: opencv-python-headless and PyAV bring their own
# libraries, and imageio-ffmpeg brings a static ffmpeg.
RUN groupadd --system studio && useradd --system --gid studio --home-dir /app studio

WORKDIR /app
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN pip install --upgrade pip && pip install .

COPY --chown=studio:studio . .

# Static files are collected at build time and served by whitenoise. The
# secret here only satisfies the settings check and is never used at run time.
RUN SECRET_KEY=build-time-collectstatic-only STUDIO_DATA_DIR=/tmp/build \
        python manage.py collectstatic --noinput \
    && rm -rf /tmp/build \
    && mkdir -p /data && chown studio:studio /data

USER studio
VOLUME ["/data"]
EXPOSE 8000

# The web server as `make run` starts it (serve's one gunicorn command line:
# threaded workers with the slow-client deadlines, WEB_* settings), without the worker.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python manage.py serve --no-worker --host 0.0.0.0 --port ${PORT}"]
