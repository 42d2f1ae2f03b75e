"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py 'portal:create_app()'` (see the README)."""

import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PORTAL_WORKERS", "4"))
# Uploads are queued, not imported in the request, so a request never needs longer than this.
timeout = 60
# gunicorn's own limits answer in plain text before the portal sees the request; keep them above the
# portal's MAX_URL_LENGTH (4096) so an over-long web address gets the portal's 414 (JSON under /api).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
forwarded_allow_ips = os.environ.get("PORTAL_FORWARDED_ALLOW_IPS", "127.0.0.1")
