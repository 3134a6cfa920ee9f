"""`kts`, the installed console script, against the real service and its worker process."""

import re
import shutil
import signal
import subprocess
import tarfile
import time

import pytest

from core.settings import Settings
from devkit.datasets import prepare_uploaded_dataset, upload_dataset, wait_until_prepared
from devkit.processes import free_port
from tests.client.conftest import CLASSES, KTS, Kts, one_line_error
from tests.integration.running import start_service, stop_service

pytestmark = pytest.mark.slow


def test_kts_is_installed_as_a_console_script():
    result = subprocess.run([str(KTS), "--help"], capture_output=True, text=True, check=True)

    commands = ("train", "jobs", "job", "logs", "curves", "cancel", "predict", "models", "datasets")
    for command in commands:
        assert re.search(rf"^  {command}\s", result.stdout, re.MULTILINE), command


def test_train_wait_shows_each_epoch_and_the_outcome(trained):
    job = trained.job

    assert trained.train.returncode == 0, trained.train.stderr
    assert job["status"] == "succeeded" and job["name"] == "from kts"
    assert job["params"]["epochs"] == 2 and job["params"]["seed"] == 1
    lines = trained.train.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("Epoch ")]
    for line, metrics in zip(epochs, job["history"], strict=True):
        assert line.startswith(f"Epoch {metrics['epoch']}/2  loss {metrics['loss']:.4f}  ")
        assert f"val_acc {metrics['val_accuracy']:.4f}" in line
    promotion = job["promotion"]
    taken = "took production" if promotion["promoted"] else "did not take production"
    warning = [f"Warning: {job['warning']}"] if job["warning"] else []
    assert lines[-2 - len(warning) :] == [
        f"Job {job['id']} succeeded: test accuracy {job['test_accuracy']:.4f}, "
        f"test loss {job['test_loss']:.4f}; model {job['model_id']}",
        f"Version 1 of {job['params']['model_name']} {taken}: {promotion['reason']}",
        *warning,
    ]


def test_upload_prints_the_new_dataset(trained):
    dataset = trained.dataset

    assert dataset["name"] == "three classes" and dataset["class_names"] == CLASSES
    assert f"Uploaded dataset {dataset['id']}:" in trained.upload.stdout
    assert "airplane, cat, ship" in trained.upload.stdout and "ready" in trained.upload.stdout
    assert trained.upload.stderr == ""
    listed = trained.kts("datasets")
    assert listed.returncode == 0 and dataset["id"] in listed.stdout and "cifar10" in listed.stdout


def test_a_dataset_that_fails_prints_each_problem_and_exits_1(shared_service, make_archive):
    kts = Kts(shared_service.url)

    result = kts("datasets", "upload", str(make_archive(["cat"], 3, 0)))

    assert result.returncode == 1, result.stdout
    assert re.search(
        r"^Dataset \w+ failed: The dataset archive is not usable\.$", result.stderr, re.M
    )
    assert "\n  Only one class (cat): at least 2 are needed.\n" in result.stderr


def test_upload_no_wait_returns_while_the_dataset_is_prepared(shared_service, make_archive):
    kts = Kts(shared_service.url)

    result = kts("datasets", "upload", str(make_archive(CLASSES, 10, 2)), "--no-wait")

    assert result.returncode == 0, result.stderr
    dataset_id = re.search(r"Uploaded dataset (\w+): it is being prepared", result.stdout)[1]  # type: ignore[index]
    assert "processing" in result.stdout
    with shared_service.client() as client:
        assert wait_until_prepared(client, dataset_id)["status"] == "ready"
    listed = kts("datasets").stdout
    assert re.search(rf"{dataset_id} .* ready ", listed), listed


def test_datasets_delete_removes_an_upload_and_refusals_are_one_line(shared_service, make_archive):
    kts = Kts(shared_service.url)
    upload = kts("datasets", "upload", str(make_archive(CLASSES, 10, 2)))
    dataset_id = re.search(r"Uploaded dataset (\w+)", upload.stdout)[1]  # type: ignore[index]
    folder = shared_service.data_dir / "datasets" / dataset_id
    assert (folder / "arrays").is_dir()

    result = kts("datasets", "delete", dataset_id)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Deleted dataset {dataset_id}.\n"
    assert not folder.exists()
    assert "(HTTP 404)" in one_line_error(kts("datasets", "show", dataset_id))
    again = one_line_error(kts("datasets", "delete", dataset_id))
    assert f"No dataset with id '{dataset_id}'" in again and "(HTTP 404)" in again
    builtin = one_line_error(kts("datasets", "delete", "cifar10"))
    assert "Dataset 'cifar10' is built in" in builtin and "(HTTP 409)" in builtin


def test_predict_prints_each_images_top_classes(trained, archive, tmp_path):
    images = []
    with tarfile.open(archive) as members:
        for name in ("test/cat/0000.jpg", "test/ship/0003.jpg"):
            images.append(tmp_path / name.replace("/", "-"))
            images[-1].write_bytes(members.extractfile(name).read())  # type: ignore[union-attr]
    model_id = trained.job["model_id"]

    result = trained.kts("predict", *map(str, images), "--top-k", "2", "--model-id", model_id)

    assert result.returncode == 0, result.stderr
    assert f"Model {model_id}" in result.stdout
    rows = re.findall(r"^\s*(\S*)\s+([12])\s+(\w+)\s+([\d.]+)\s*$", result.stdout, re.MULTILINE)
    assert [(rank, label in CLASSES) for _, rank, label, _ in rows] == [
        ("1", True),
        ("2", True),
    ] * 2
    assert [name for name, *_ in rows] == [str(images[0]), "", str(images[1]), ""]
    with trained.service.client() as client:
        answer = client.post(
            "/predict",
            params={"model": model_id, "top_k": 2},
            files=[("file", (path.name, path.read_bytes())) for path in images],
        ).json()
    expected = [
        (p["label"], f"{p['probability']:.4f}") for r in answer["results"] for p in r["predictions"]
    ]
    assert [(label, probability) for *_, label, probability in rows] == expected


def test_jobs_job_and_models_show_the_training(trained):
    job = trained.job

    succeeded = trained.kts("jobs", "--status", "succeeded")
    failed = trained.kts("jobs", "--status", "failed")
    details = trained.kts("job", job["id"])
    models = trained.kts("models")
    model = trained.kts("models", "show", job["model_id"])

    assert job["id"] in succeeded.stdout and job["id"] not in failed.stdout
    assert re.search(r"^History", details.stdout, re.MULTILINE)
    for epoch in job["history"]:
        assert re.search(rf"^\s*{epoch['epoch']}\s+{epoch['loss']:.4f}\s", details.stdout, re.M)
    assert f"{job['test_accuracy']:.4f}" in details.stdout and job["model_id"] in details.stdout
    assert job["model_id"] in models.stdout and job["id"] in models.stdout
    assert '"class_names": [' in model.stdout and '"cat"' in model.stdout


def test_following_a_finished_job_replays_it(trained):
    result = trained.kts("job", trained.job["id"], "--follow")

    assert result.returncode == 0, result.stderr
    assert [line[:9] for line in result.stdout.splitlines()[:2]] == ["Epoch 1/2", "Epoch 2/2"]
    assert f"test accuracy {trained.job['test_accuracy']:.4f}" in result.stdout


def test_refusals_are_one_line_on_stderr_and_exit_1(trained):
    kts = trained.kts

    assert "No dataset with id 'nope'" in one_line_error(kts("train", "--dataset", "nope"))
    assert "(HTTP 404)" in one_line_error(kts("job", "missing"))
    assert "(HTTP 404)" in one_line_error(kts("job", "missing", "--follow"))
    assert "(HTTP 409)" in one_line_error(kts("cancel", trained.job["id"]))
    assert "(HTTP 422)" in one_line_error(kts("train", "--set", "flip=sometimes"))
    assert "epoch: Extra inputs" in one_line_error(kts("train", "--set", "epoch=3"))


def test_a_job_that_fails_makes_wait_exit_1(shared_service, make_archive):
    kts = Kts(shared_service.url)
    upload = kts("datasets", "upload", str(make_archive(CLASSES, 10, 2)))
    dataset_id = re.search(r"Uploaded dataset (\w+)", upload.stdout)[1]  # type: ignore[index]
    # The job will not find its images.
    shutil.rmtree(shared_service.data_dir / "datasets" / dataset_id / "arrays")

    result = kts("train", "--dataset", dataset_id, "--epochs", "1", "--wait")

    assert result.returncode == 1
    assert re.search(r"Job \w+ failed: FileNotFoundError: .*arrays/x_train\.npy", result.stderr)


def test_an_unreachable_service_is_one_line_and_exit_1():
    error = one_line_error(Kts(f"http://127.0.0.1:{free_port()}")("jobs"))

    assert error.startswith("Error: Cannot reach the service at http://127.0.0.1:")


def test_the_api_key_comes_from_kts_api_key(tmp_path, archive):
    keys = {"admin": "admin-key-0123456789", "predict": "predict-key-0123456789"}
    guarded = start_service(
        tmp_path / "var",
        tmp_path / "service.log",
        API_KEYS=",".join(f"{key}:{role}" for role, key in keys.items()),
        START_WORKER="false",
    )
    try:
        kts = Kts(guarded.url)
        without = kts("jobs")
        reader = kts("jobs", KTS_API_KEY=keys["predict"])
        refused = kts("datasets", "upload", str(archive), KTS_API_KEY=keys["predict"])
        # No worker prepares it: not waited for.
        admin = kts("--api-key", keys["admin"], "datasets", "upload", str(archive), "--no-wait")
    finally:
        stop_service(guarded)

    assert "(HTTP 401)" in one_line_error(without)
    assert reader.returncode == 0 and "Jobs (0 of 0)" in reader.stdout
    assert "needs an admin key" in one_line_error(refused)
    assert admin.returncode == 0 and "Uploaded dataset" in admin.stdout
    assert keys["admin"] not in admin.stdout + admin.stderr


def test_wait_reconnects_across_a_service_restart(tmp_path, archive):
    """The first service has no worker, so the job waits; the one restarted in its place
    trains it, and `kts train --wait` follows it through."""
    port = free_port()
    first = start_service(tmp_path / "var", tmp_path / "first.log", port, START_WORKER="false")
    try:
        with first.client() as client:
            dataset_id = upload_dataset(client, archive)["id"]
        # Prepared here, as a worker would: the job has to wait for one.
        prepare_uploaded_dataset(Settings(data_dir=tmp_path / "var", _env_file=None), dataset_id)
        follower = subprocess.Popen(
            [str(KTS), "train", "--dataset", dataset_id, "--epochs", "1", "--wait"],
            env={"KTS_URL": first.url, "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert follower.stdout is not None
        first_lines = [follower.stdout.readline(), follower.stdout.readline()]
        assert first_lines[1].endswith("queued\n"), first_lines
    finally:
        first.process.send_signal(signal.SIGKILL)  # a crash: the stream breaks mid-way
        first.process.wait()
    time.sleep(1)  # the follower notices while nothing listens

    second = start_service(tmp_path / "var", tmp_path / "second.log", port)
    try:
        stdout, stderr = follower.communicate(timeout=300)
        with second.client() as client:
            job = client.get("/jobs", params={"status": "succeeded"}).json()["data"]
    finally:
        stop_service(second)

    assert follower.returncode == 0, stderr
    assert "Lost the job's event stream" in stderr and "reconnecting" in stderr
    assert re.search(r"^Epoch 1/1  loss \d", stdout, re.MULTILINE)
    assert f"Job {job[0]['id']} succeeded: test accuracy" in stdout


def test_promote_points_an_alias_at_a_model_and_rollback_needs_a_move_to_undo(trained):
    model = trained.service.client().get(f"/models/{trained.job['model_id']}").json()

    promoted = trained.kts("models", "promote", model["id"], "--alias", "staging")
    listed = trained.kts("models")
    rollback = trained.kts("models", "rollback", model["name"], "--alias", "staging")

    assert promoted.returncode == 0, promoted.stderr
    assert f"{model['name']}@staging now points at version {model['version']}" in promoted.stdout
    assert "staging" in listed.stdout and f"{model['name']}@{model['version']}" in listed.stdout
    assert "(HTTP 409)" in one_line_error(rollback)
