"""The app starts, serves its start page and reports database health."""


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok",
                                   "scheduler": {"last_run_at": None, "last_run_for": None}}


def test_start_page_renders_with_one_h1(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("<h1") == 1
