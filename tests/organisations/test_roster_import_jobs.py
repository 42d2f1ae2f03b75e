"""Browser roster imports run as background jobs: the progress page, all-or-nothing, who may see a job,
and the same report as the command line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from huey import RedisHuey, SqliteHuey
from sqlalchemy import func, select

from portal.core.import_jobs import import_folder
from portal.core.models import ImportJob
from portal.core.tasks import TaskQueue, task_queue
from portal.extensions import db
from portal.organisations.models import Student
from tests.factories import make_school, make_user

HEADER = "student_ref,upn,first_name,last_name,year_group,date_of_birth,send_status,needs,disadvantaged,sector_interests,email\n"
GOOD = "".join(f"{1000 + n},,First{n},Last{n},10,2011-02-03,none,,no,,\n" for n in range(60))
BAD = "2000,,Bad,Row,15,2011-02-03,none,,no,,\n"


def _post(client, data: bytes):
    return client.post("/students/import", data={"file": (io.BytesIO(data), "roster.csv")},
                       content_type="multipart/form-data")


def _job(response) -> ImportJob:
    job_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    return db.session.get(ImportJob, job_id)


def _count(school) -> int:
    return db.session.scalar(select(func.count()).select_from(Student).where(Student.school_id == school.id))


def _running_job(school, user) -> ImportJob:
    job = ImportJob(kind="roster", status="running", owner_id=user.id, school_id=school.id,
                    stored_name="0" * 32 + ".csv", original_name="roster.csv", rows_estimate=10_000, rows_checked=2_500)
    db.session.add(job)
    db.session.flush()
    return job


def test_the_upload_returns_at_once_with_303_to_the_job_which_records_what_it_did(client, login):
    school = make_school()
    user = make_user(school_id=school.id)
    login(user)
    response = _post(client, (HEADER + GOOD).encode())
    assert response.status_code == 303
    job = _job(response)
    assert (job.status, job.kind, job.school_id, job.owner_id) == ("succeeded", "roster", school.id, user.id)
    assert (job.rows_estimate, job.rows_checked, job.rows_written) == (60, 60, 60)
    assert job.report["created"] == 60 and job.finished_at is not None
    assert _count(school) == 60
    assert list(import_folder().glob("*.csv")) == []  # the saved upload is removed once imported


def test_a_running_job_shows_a_progress_bar_a_check_again_link_and_a_json_endpoint(client, login):
    school = make_school()
    user = make_user(school_id=school.id)
    job = _running_job(school, user)
    login(user)
    page = client.get(f"/students/import/{job.id}").get_data(as_text=True)
    assert f'href="/students/import/{job.id}">Check progress now</a>' in page  # without JavaScript
    assert 'http-equiv="refresh"' not in page  # no timed refresh (WCAG 2.2.1, axe meta-refresh)
    assert '<progress id="import-progress-bar"' in page and 'value="25"' in page
    assert "2,500</span> of about 10,000 rows checked" in page
    assert f'data-url="/students/import/{job.id}.json"' in page
    progress = client.get(f"/students/import/{job.id}.json").get_json()
    assert progress == {"id": job.id, "status": "running", "status_label": "Checking and importing", "finished": False,
                        "phase": "checking", "writes": "students", "rows_checked": 2500, "rows_written": 0, "rows_to_write": None,
                        "rows_estimate": 10000, "percent": 25}


def test_while_rows_are_written_the_page_counts_them_against_the_rows_to_write(app, client, login):
    school = make_school()
    user = make_user(school_id=school.id)
    job = _running_job(school, user)
    login(user)
    task_queue(app).put_note(f"import-job:{job.id}", {"rows_checked": 10_000, "rows_to_write": 9_500, "rows_written": 4_000})
    page = client.get(f"/students/import/{job.id}").get_data(as_text=True)
    assert "Students written</label>" in page and 'value="42"' in page
    assert "10,000</span> of about 10,000 rows checked" in page
    assert "Every row is good: <span data-rows-written>4,000</span> of <span data-rows-to-write>9,500</span> students written." in page
    progress = client.get(f"/students/import/{job.id}.json").get_json()
    assert (progress["phase"], progress["rows_written"], progress["rows_to_write"], progress["percent"]) == ("writing", 4000, 9500, 42)


class _Watcher:
    """Records what an import tells whoever watches it."""

    def __init__(self) -> None:
        self.checked_counts: list[int] = []
        self.to_write: list[int] = []
        self.sent: list[int] = []

    def checked(self, rows: int) -> None:
        self.checked_counts.append(rows)

    def writing(self, rows: int) -> None:
        self.to_write.append(rows)

    def written(self, rows: int) -> None:
        self.sent.append(rows)


def test_an_import_says_how_many_rows_it_will_write_and_counts_them_batch_by_batch(monkeypatch):
    from portal.organisations import roster_import

    monkeypatch.setattr(roster_import, "WRITE_BATCH", 7)
    school = make_school()
    roster_import.import_students(db.session, school, (HEADER + GOOD).encode())
    changed = GOOD.replace("First1,", "Firstone,").replace("First2,", "Firsttwo,")  # two students renamed
    new_rows = "".join(f"{5000 + n},,New{n},Row{n},11,2011-02-03,none,,no,,\n" for n in range(9))
    heard = _Watcher()
    report = roster_import.import_students(db.session, school, (HEADER + changed + new_rows).encode(), progress=heard)
    assert report.created == 9 and report.updated == changed.count("Firstone") + changed.count("Firsttwo")
    assert heard.to_write == [report.created + report.updated]  # unchanged rows are not counted as to write
    assert heard.sent == sorted(heard.sent) and heard.sent[-1] == report.created + report.updated
    assert len(heard.sent) > 2  # told batch by batch, not only at the end


def test_a_note_left_inside_an_open_write_transaction_is_read_by_another_process(app, tmp_path):
    from portal.core.import_jobs import _JobProgress

    app.config["TASK_QUEUE_URL"] = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    app.config["TASK_QUEUE_IMMEDIATE"] = False
    saved = app.extensions.pop("portal_tasks", None)
    try:
        school = make_school()  # the portal's transaction is open and has written
        db.session.flush()
        watcher = _JobProgress(4242)
        watcher.writing(100)
        watcher.written(60)
        elsewhere = TaskQueue(app)  # a web worker opening the same queue store
        assert elsewhere.read_note("import-job:4242") == {"rows_checked": 0, "rows_to_write": 100, "rows_written": 60}
        assert school.id is not None
    finally:
        app.extensions.pop("portal_tasks", None)
        if saved is not None:
            app.extensions["portal_tasks"] = saved
        app.config["TASK_QUEUE_URL"], app.config["TASK_QUEUE_IMMEDIATE"] = None, True


def test_a_finished_job_page_no_longer_offers_to_check_progress(client, login):
    school = make_school()
    login(make_user(school_id=school.id))
    page = client.get(_post(client, (HEADER + GOOD).encode()).headers["Location"]).get_data(as_text=True)
    assert "Roster imported" in page and "60 new" in page
    assert "Check progress now" not in page


def test_one_bad_row_after_many_good_ones_writes_nothing_and_the_job_lists_it(client, login):
    school = make_school()
    login(make_user(school_id=school.id))
    response = _post(client, (HEADER + GOOD + BAD).encode())
    job = _job(response)
    assert job.status == "failed" and job.rows_written == 0
    assert job.report == {"ok": False, "error_count": 1,
                          "errors": [{"line": 62, "column": "year_group", "reason": "must be at most 13"}]}
    assert _count(school) == 0
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported: 1 problem in the file" in page and "must be at most 13" in page


def test_another_school_cannot_see_the_job_or_its_progress(client, login):
    school = make_school()
    job = _running_job(school, make_user(school_id=school.id))
    login(make_user(school_id=make_school().id))
    assert client.get(f"/students/import/{job.id}").status_code == 404
    assert client.get(f"/students/import/{job.id}.json").status_code == 404


def test_the_command_line_and_the_job_give_the_same_report(app, client, login, tmp_path):
    data = (HEADER + GOOD).encode()
    path = Path(tmp_path) / "roster.csv"
    path.write_bytes(data)
    by_command = make_school()
    printed = app.test_cli_runner().invoke(args=["import", "students", "--school", by_command.urn, str(path), "--json"])
    assert printed.exit_code == 0, printed.output
    by_browser = make_school()
    login(make_user(school_id=by_browser.id))
    job = _job(_post(client, data))
    stored = dict(job.report)
    assert stored.pop("summary") == "Imported: 60 new, 0 updated, 0 unchanged"
    assert stored == json.loads(printed.output)

    bad = Path(tmp_path) / "bad.csv"
    bad.write_bytes(data + BAD.encode())
    failed_job = dict(_job(_post(client, data + BAD.encode())).report)
    failed = app.test_cli_runner().invoke(args=["import", "students", "--school", by_command.urn, str(bad), "--json"])
    assert failed.exit_code == 1
    command_errors = json.loads(failed.output)["errors"]
    assert failed_job["errors"] == command_errors and failed_job["error_count"] == len(command_errors)


def test_the_queue_is_a_sqlite_file_in_instance_by_default_and_redis_when_configured(app):
    queue = task_queue(app)
    assert isinstance(queue.huey, SqliteHuey)
    assert "imports.run" in queue.bind_all()
    app.config["TASK_QUEUE_URL"] = "redis://127.0.0.1:6379/5"
    try:
        assert isinstance(TaskQueue(app).huey, RedisHuey)
    finally:
        app.config["TASK_QUEUE_URL"] = None


def test_flask_tasks_list_names_the_registered_tasks(app):
    result = app.test_cli_runner().invoke(args=["tasks", "list"])
    assert result.exit_code == 0 and "imports.run" in result.output and "tasks.sqlite3" in result.output
