# Copy to instance/config.py and edit. Environment variables PORTAL_<NAME> override these.
# ENV = "production"
# SECRET_KEY = "a long random string"   # required in production
# DATABASE_URL = "postgresql+psycopg://portal@db.example/portal"
# BASE_URL = "https://placements.example.org"
# MAIL_SERVER = "smtp.example.org"
# MAIL_PORT = 587
# MAIL_USERNAME = "portal"
# MAIL_PASSWORD = "..."
# MAIL_FROM = "Placement Portal <placements@example.org>"
# RATELIMIT_STORAGE_URI = "redis://127.0.0.1:6379/0"
# GEOCODER = "offline"   # or "nominatim" (online, exact addresses, offline fallback)
