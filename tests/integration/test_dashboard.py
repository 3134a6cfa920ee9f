"""The dashboard in a real browser (Debian's chromium, driven by Playwright) against the real
service and its worker: a job started from the form and followed live over its event stream,
images dropped for predictions, API keys, and a named model's versions promoted and rolled
back."""

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, Response, expect

from core.db import create_session_factory
from core.promotion import chance_warning
from core.settings import Settings
from core.tables import TrainedModel
from devkit.browser import chromium_path, launch_chromium
from devkit.datasets import prepare_uploaded_dataset, wait_until_prepared
from devkit.datasets import upload_dataset as upload
from devkit.samples import cifar_samples
from devkit.saved_models import save_untrained_model
from tests.conftest import CLASSES
from tests.integration.running import RunningService, start_service, stop_service

pytestmark = pytest.mark.slow

ADMIN_KEY = "dashboard-admin-key-0123456789"
PERCENT = re.compile(r"^\d{1,3}\.\d%$")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Skipped without chromium, except in CI, where the browser tests must run."""
    if chromium_path() is None:
        message = "no chromium: install it with .ci/install-chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with launch_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


@pytest.fixture
def keyed_service(tmp_path: Path) -> Iterator[RunningService]:
    """The service with an API key, and no worker: its jobs stay queued."""
    running = start_service(
        tmp_path / "var",
        tmp_path / "service.log",
        API_KEYS=f"{ADMIN_KEY}:admin",
        START_WORKER="false",
    )
    try:
        yield running
    finally:
        stop_service(running)


@pytest.fixture
def named_service(tmp_path: Path) -> Iterator[RunningService]:
    """Two versions of the name `flowers`, the first (at chance) its production version; no
    worker."""
    settings = Settings(data_dir=tmp_path / "var", _env_file=None)
    # Three classes: chance is 33.3%, and 34% is within the warning's margin of it.
    at_chance = save_untrained_model(settings, CLASSES, {"test_accuracy": 0.34}, "flowers")
    save_untrained_model(settings, CLASSES, {"test_accuracy": 0.9}, "flowers")
    # Recorded as the worker records it, which saving an untrained model leaves out.
    with create_session_factory(settings).begin() as session:
        session.get_one(TrainedModel, at_chance.id).warning = chance_warning(0.34, len(CLASSES))
    running = start_service(tmp_path / "var", tmp_path / "service.log", START_WORKER="false")
    try:
        yield running
    finally:
        stop_service(running)


@pytest.fixture
def service_without_worker(tmp_path: Path) -> Iterator[RunningService]:
    """The service with no worker: its uploads wait until a test prepares them."""
    running = start_service(tmp_path / "var", tmp_path / "service.log", START_WORKER="false")
    try:
        yield running
    finally:
        stop_service(running)


def upload_dataset(
    service: RunningService,
    archive: Path,
    headers: dict[str, str] | None = None,
    without_worker: bool = False,
):
    """Upload `archive` and wait until it is prepared: by the service's worker, or here for a
    service without one."""
    with service.client() as client:
        client.headers.update(headers or {})
        dataset_id = upload(client, archive)["id"]
        if without_worker:
            settings = Settings(data_dir=service.data_dir, _env_file=None)
            prepare_uploaded_dataset(settings, dataset_id)
        return wait_until_prepared(client, dataset_id)


def responses_to_event_streams(page: Page) -> list[Response]:
    """The page's responses to event-stream requests from now on, as they arrive."""
    responses: list[Response] = []

    def record(response: Response) -> None:
        if response.url.endswith("/events"):
            responses.append(response)

    page.on("response", record)
    return responses


def job_row(page: Page, name: str) -> Locator:
    return page.locator("#jobs tr.job", has=page.locator(".job-name", has_text=name))


def bar_values_until_done(row: Locator, timeout: float = 240) -> list[float]:
    """The row's progress bar as it moves, read every 50 ms until the job ends."""
    values: list[float] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = row.locator("progress").evaluate("bar => bar.value")
        if not values or value != values[-1]:
            values.append(value)
        status = row.locator(".badge").text_content()
        if status in ("succeeded", "failed", "cancelled"):
            return values
        time.sleep(0.05)
    raise AssertionError(f"the job did not end in {timeout} s; the bar showed {values}")


def test_start_a_job_from_the_form_follow_its_bar_and_predict(service, make_archive, page):
    # 600 images in batches of 16: about a hundred steps, so the bar has room to move.
    dataset = upload_dataset(service, make_archive(CLASSES, train_per_class=200, test_per_class=10))
    event_streams = responses_to_event_streams(page)
    # The page's periodic refresh of the list, off: only the job's event stream can move its bar.
    page.add_init_script("window.setInterval = () => 0;")
    page.goto(service.url)

    page.select_option("#train-dataset", dataset["id"])
    page.select_option("#train-model", "quick_cnn")
    expect(page.locator("#train-epochs")).to_have_attribute("placeholder", "default 3")
    page.fill("#train-epochs", "3")
    page.fill("#train-batch-size", "16")
    page.fill("#train-name", "from the form")
    page.click("#train-form button[type=submit]")

    row = job_row(page, "from the form")
    expect(row).to_be_visible()
    values = bar_values_until_done(row)

    expect(row.locator(".badge")).to_have_text("succeeded")
    assert values == sorted(values), values
    assert values[-1] == 1
    assert [v for v in values if 0 < v < 1], f"the bar never showed a step between: {values}"
    assert len(set(values)) >= 3, values
    assert [r.status for r in event_streams] == [200]
    expect(row.locator(".test-accuracy")).to_contain_text("test accuracy")
    expect(row.locator(".cancel")).to_have_count(0)
    # Whether its model took production, and why, as the job records it.
    with service.client() as client:
        job = client.get("/jobs").json()["data"][0]
    promoted = "promoted to production" if job["promotion"]["promoted"] else "not promoted"
    expect(row.locator(".promotion")).to_contain_text(promoted)
    expect(row.locator(".promotion")).to_contain_text(job["promotion"]["reason"])
    expect(row.locator(".warning")).to_have_count(1 if job["warning"] else 0)

    # The worker's log of the job, from its first record to its last.
    row.locator(".show-log").click()
    log_lines = page.locator("#log-lines li")
    expect(log_lines.first).to_contain_text("job started")
    expect(log_lines.last).to_contain_text("job succeeded")

    # The finished job's model, with its curves drawn by the API.
    model = page.locator("#models .model").first
    expect(model).to_contain_text("quick_cnn")
    expect(model).to_contain_text(dataset["id"])
    curves = model.locator("img[alt='Training curves']")
    # The API's first drawing loads matplotlib: seconds on a busy machine.
    expect(curves).to_have_attribute("src", re.compile(r"^blob:"), timeout=60_000)
    assert curves.evaluate("image => image.decode().then(() => image.naturalWidth)") > 0

    # Its .keras file, fetched with the page's key and handed to the browser as a download.
    with service.client() as client:
        model_id = client.get("/models").json()["data"][0]["id"]
        keras_file = client.get(f"/models/{model_id}/download").content
    with page.expect_download() as downloading:
        model.get_by_role("button", name="Download .keras").click()
    download = downloading.value
    assert download.suggested_filename == f"{model_id}.keras"
    assert Path(download.path()).read_bytes() == keras_file

    # A real JPEG through the file input ...
    ship = cifar_samples()["test"]["ship"][0]
    page.set_input_files(
        "#predict-files", files=[{"name": "ship.jpg", "mimeType": "image/jpeg", "buffer": ship}]
    )
    # The first prediction loads TensorFlow into the API process: seconds too.
    expect(page.locator("#predictions .prediction, #predict-error:visible")).to_have_count(
        1, timeout=120_000
    )
    expect(page.locator("#predict-error")).to_be_hidden()
    expect(page.locator("#predictions .prediction")).to_have_count(1)
    top = page.locator("#predictions .prediction li").first
    assert top.locator(".label").text_content() in CLASSES
    assert PERCENT.match(top.locator(".probability").text_content())

    # ... and two dropped on the drop zone, as a drag from the desktop delivers them.
    images = {"cat.jpg": cifar_samples()["test"]["cat"][0], "ship.jpg": ship}
    dropped = page.evaluate_handle(
        """(images) => {
            const transfer = new DataTransfer();
            for (const [name, bytes] of Object.entries(images)) {
                transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "image/jpeg"}));
            }
            return transfer;
        }""",
        {name: list(data) for name, data in images.items()},
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dropped})
    cards = page.locator("#predictions .prediction")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("cat.jpg")
    for card in cards.all():
        labels = card.locator(".label").all_text_contents()
        assert len(labels) == 3 and set(labels) == set(CLASSES)
        assert all(PERCENT.match(p) for p in card.locator(".probability").all_text_contents())
    expect(page.locator("#predict-error")).to_be_hidden()


def test_api_keys_errors_and_cancelling_in_the_page(keyed_service, make_archive, page):
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    dataset = upload_dataset(
        keyed_service, make_archive(CLASSES, 4, 2), headers=admin, without_worker=True
    )
    event_streams = responses_to_event_streams(page)
    page.goto(keyed_service.url)

    # The page itself is open; the API answers 401, and the page asks for a key.
    expect(page.locator("#key-panel")).to_be_visible()
    expect(page.locator("#key-message")).to_contain_text("An API key is required")
    expect(page.locator("#jobs-error")).to_contain_text("Error 401")
    page.fill("#api-key", ADMIN_KEY)
    page.click("#key-panel button[type=submit]")
    expect(page.locator("#key-panel")).to_be_hidden()
    expect(page.locator("#jobs-empty")).to_be_visible()
    expect(page.locator("#jobs-error")).to_be_hidden()
    assert page.evaluate("localStorage.length") == 1

    # An error from the API is shown as it came.
    page.select_option("#train-dataset", dataset["id"])
    page.eval_on_selector("#train-model", "select => select.add(new Option('nope', 'nope'))")
    page.select_option("#train-model", "nope")
    page.click("#train-form button[type=submit]")
    expect(page.locator("#train-error")).to_contain_text("Error 422")
    expect(page.locator("#train-error")).to_contain_text("Unknown model")

    # Text from users is shown as text, never run as markup.
    page.select_option("#train-model", "seed_cnn")
    page.fill("#train-name", "<b>bold</b><img src=x onerror=window.pwned=1>")
    page.click("#train-form button[type=submit]")
    row = page.locator("#jobs tr.job")
    expect(row).to_have_count(1)
    expect(row.locator(".job-name")).to_have_text("<b>bold</b><img src=x onerror=window.pwned=1>")
    assert row.locator("b, img").count() == 0 and page.evaluate("window.pwned") is None
    expect(page.locator("#train-error")).to_be_hidden()

    # No worker here: the job waits, followed over a stream that carries the key, until cancelled.
    expect(row.locator(".badge")).to_have_text("queued")
    with page.expect_response(lambda r: r.url.endswith("/cancel")) as cancelled:
        row.locator(".cancel").click()
    assert cancelled.value.status == 200
    expect(row.locator(".badge")).to_have_text("cancelled")
    expect(row.locator(".cancel")).to_have_count(0)
    assert [r.status for r in event_streams] == [200]
    with keyed_service.client() as client:
        jobs = client.get("/jobs", headers=admin).json()["data"]
    assert [job["status"] for job in jobs] == ["cancelled"]


def production_version(service: RunningService, name: str) -> int | None:
    with service.client() as client:
        return client.get(f"/model-names/{name}").json()["aliases"].get("production")


def test_promote_and_roll_back_a_named_model_in_the_page(named_service, page):
    dialogs: list[str] = []

    def answer_next_dialog(text: str | None = None) -> None:
        """Accepts the next confirm() or prompt(), typing `text` into a prompt."""

        def accept(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.accept(*([text] if text is not None else []))

        page.once("dialog", accept)

    page.goto(named_service.url)
    card = page.locator("#model-names .model-name[data-name='flowers']")
    first = card.locator("tr.version[data-version='1']")
    second = card.locator("tr.version[data-version='2']")

    # The name, the default one, its versions newest first, their aliases and the warning.
    expect(card.locator("h3")).to_contain_text("flowers")
    expect(card.locator("h3 .badge.default")).to_be_visible()
    expect(card.locator("tr.version")).to_have_count(2)
    expect(card.locator("tr.version").first).to_have_attribute("data-version", "2")
    expect(first.locator(".badge.alias")).to_have_text(["production"])
    expect(first.locator(".warning")).to_contain_text("chance")
    expect(first.locator(".promote")).to_have_count(0)
    expect(second.locator(".badge.alias")).to_have_count(0)
    expect(second.locator(".warning")).to_have_count(0)
    expect(second).to_contain_text("90.0%")
    card.locator(".alias-history summary").click()
    moves = card.locator("tr.alias-move")
    expect(moves).to_have_count(1)
    expect(moves.first.locator(".move")).to_have_text("none → v1")

    # Production never moved from one version to another: the API's refusal, as it came.
    answer_next_dialog()
    card.locator(".rollback").click()
    expect(card.locator(".error")).to_contain_text("Error 409")
    expect(card.locator(".error")).to_contain_text("pointed nowhere before its last move")

    # Promoted, with a reason: production moves, and the history (still open) shows it.
    answer_next_dialog("<b>better</b> on the holdout")
    second.locator(".promote").click()
    expect(second.locator(".badge.alias")).to_have_text(["production"])
    expect(first.locator(".promote")).to_be_visible()
    assert production_version(named_service, "flowers") == 2
    expect(moves).to_have_count(2)
    expect(moves.first.locator(".move")).to_have_text("v1 → v2")
    expect(moves.first.locator(".reason")).to_have_text("<b>better</b> on the holdout")
    assert card.locator(".alias-moves b").count() == 0
    expect(card.locator(".error")).to_be_hidden()

    # Rolled back: production is where it was.
    answer_next_dialog()
    card.locator(".rollback").click()
    expect(first.locator(".badge.alias")).to_have_text(["production"])
    assert production_version(named_service, "flowers") == 1
    expect(moves).to_have_count(3)
    expect(moves.first.locator(".move")).to_have_text("v2 → v1")
    expect(moves.first.locator(".reason")).to_have_text("rollback")
    assert dialogs[1].startswith("Move production of flowers to version 2?"), dialogs
    assert len(dialogs) == 3


def test_uploads_show_their_preparation_until_ready_and_why_they_failed(
    service_without_worker, make_archive, page
):
    settings = Settings(data_dir=service_without_worker.data_dir, _env_file=None)
    with service_without_worker.client() as client:
        broken = upload(client, make_archive(["cat"], 3, 0), name="broken")
        prepare_uploaded_dataset(settings, broken["id"])
        waiting = upload(client, make_archive(CLASSES, 4, 2), name="waiting")
    page.goto(service_without_worker.url)

    states = page.locator("#dataset-states > li")
    expect(states).to_have_count(2)
    expect(states.filter(has_text="waiting")).to_contain_text("being prepared")
    failed = states.filter(has_text="broken")
    expect(failed).to_contain_text("failed. The dataset archive is not usable.")
    expect(failed.locator("li")).to_have_text(["Only one class (cat): at least 2 are needed."])
    option = page.locator(f"#train-dataset option[value='{waiting['id']}']")
    expect(option).to_be_disabled()
    expect(page.locator(f"#train-dataset option[value='{broken['id']}']")).to_be_disabled()

    prepare_uploaded_dataset(settings, waiting["id"])

    # The page asks again on its own while a dataset is being prepared.
    expect(option).to_be_enabled(timeout=15_000)
    expect(option).to_have_text("waiting — 3 classes, 12 images")
    expect(states).to_have_count(1)

    # A failed upload can be deleted, once confirmed.
    dialogs: list[str] = []

    def accept(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    failed.locator(".delete-dataset").click()
    expect(states).to_have_count(0)
    assert dialogs == ["Delete the dataset broken and its archive?"]
    with service_without_worker.client() as client:
        assert client.get(f"/datasets/{broken['id']}").status_code == 404
    assert not (service_without_worker.data_dir / "datasets" / broken["id"]).exists()
