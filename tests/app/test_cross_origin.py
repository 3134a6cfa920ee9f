"""A page on another site cannot make the user's browser change anything here: unsafe methods
from another origin are refused (as Go's net/http.CrossOriginProtection does), keys or not."""

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

# What browsers send with a form that another site's page posts here.
CROSS_SITE = {
    "origin": "https://attacker.example",
    "sec-fetch-site": "cross-site",
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "document",
}
# A sibling site (another port or subdomain) is another origin too.
SAME_SITE = {"origin": "http://testserver:8080", "sec-fetch-site": "same-site"}
# Browsers from before Sec-Fetch-Site send the Origin alone.
OLD_BROWSER_CROSS_SITE = {"origin": "https://attacker.example"}
REFUSED = [CROSS_SITE, SAME_SITE, OLD_BROWSER_CROSS_SITE]

# The dashboard's own fetch() calls, which the test client's Host (`testserver`) serves.
SAME_ORIGIN = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
OLD_BROWSER_SAME_ORIGIN = {"origin": "http://testserver"}
TYPED_INTO_THE_ADDRESS_BAR = {"sec-fetch-site": "none"}
ALLOWED = [SAME_ORIGIN, OLD_BROWSER_SAME_ORIGIN, TYPED_INTO_THE_ADDRESS_BAR, {}]

REFUSAL = {
    "detail": "Cross-origin requests may not change anything: this request came from a page "
    "on another site.",
    "type": "forbidden",
}


def _upload(archive) -> dict:
    return {"files": {"file": ("mine.tar.gz", archive.read_bytes(), "application/gzip")}}


@pytest.mark.parametrize("headers", REFUSED)
def test_a_cross_site_form_cannot_upload_a_dataset(client, make_archive, headers):
    archive = make_archive(["cat", "ship"], train_per_class=3, test_per_class=1)

    response = client.post("/datasets", headers=headers, **_upload(archive))

    assert response.status_code == 403
    assert response.json() == REFUSAL
    assert [d["id"] for d in client.get("/datasets").json()["data"]] == ["cifar10"]


@pytest.mark.parametrize("headers", REFUSED)
def test_a_cross_site_form_cannot_cancel_or_delete_a_job(client, headers):
    job_id = client.post("/train", json={"epochs": 1}).json()["id"]

    cancel = client.post(f"/jobs/{job_id}/cancel", headers=headers)
    delete = client.delete(f"/jobs/{job_id}", headers=headers)

    assert cancel.status_code == delete.status_code == 403
    assert cancel.json() == delete.json() == REFUSAL
    job = client.get(f"/jobs/{job_id}").json()
    assert job["status"] == "queued" and job["cancel_requested_at"] is None


@pytest.mark.parametrize("headers", ALLOWED)
def test_same_origin_requests_change_things(client, make_archive, headers):
    archive = make_archive(["cat", "ship"], train_per_class=3, test_per_class=1)

    uploaded = client.post("/datasets", headers=headers, **_upload(archive))
    queued = client.post("/train", json={"epochs": 1}, headers=headers)
    cancelled = client.post(f"/jobs/{queued.json()['id']}/cancel", headers=headers)

    assert (uploaded.status_code, queued.status_code, cancelled.status_code) == (202, 202, 200)
    assert cancelled.json()["status"] == "cancelled"


def test_cross_site_reads_are_left_to_the_browser(client):
    # Safe methods change nothing; the browser keeps another site's page from reading answers.
    assert client.get("/jobs", headers=CROSS_SITE).status_code == 200
    assert client.head("/healthz", headers=CROSS_SITE).status_code != 403


def test_a_cross_site_request_is_refused_even_with_an_admin_key(settings):
    settings.api_keys = {"admin-key-0123456789": "admin"}
    with TestClient(create_app(settings)) as client:
        headers = {"authorization": "Bearer admin-key-0123456789"}
        refused = client.post("/train", json={"epochs": 1}, headers={**headers, **CROSS_SITE})
        allowed = client.post("/train", json={"epochs": 1}, headers={**headers, **SAME_ORIGIN})

    assert refused.status_code == 403 and refused.json() == REFUSAL
    assert allowed.status_code == 202
