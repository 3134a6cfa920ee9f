"""The dashboard's page and files, as served (the browser test is tests/integration)."""

import re
from html.parser import HTMLParser

from app.routes.dashboard import STATIC_DIR
from models import ARCHITECTURES

# An address off this server: a scheme, or a protocol-relative `//host` in markup or CSS.
EXTERNAL = re.compile(r"https?://|(?:src|href|action)\s*=\s*[\"']?//|url\(\s*[\"']?//|@import")
# A path the script asks the API for: a string or template literal starting with `/`, whose
# `${...}` parts stand for path parameters (or a query).
API_PATH = re.compile(r"[\"`](/[^\"`\s]*)[\"`]")
TEMPLATE_PART = re.compile(r"\$\{[^}]*\}")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]


def test_the_page_is_served_at_the_root_and_left_out_of_the_api_schema(client):
    page = client.get("/")

    assert page.status_code == 200
    assert page.text == (STATIC_DIR / "index.html").read_text()
    assert "/" not in client.get("/openapi.json").json()["paths"]


def test_the_page_loads_its_files_from_this_server_only(client):
    references = _References()
    references.feed(client.get("/").text)

    assert "/static/dashboard.js" in references.found
    assert "/static/dashboard.css" in references.found
    for reference in references.found:
        if reference.startswith("data:"):  # inline: the empty icon that spares a request
            continue
        assert reference.startswith("/"), reference
        assert client.get(reference).status_code == 200, reference
    for file in STATIC_DIR.iterdir():
        assert not EXTERNAL.search(file.read_text()), file.name


def test_architectures_are_listed_with_their_recipe_defaults(client):
    response = client.get("/architectures")

    assert response.status_code == 200
    body = response.json()
    assert [a["name"] for a in body["data"]] == list(ARCHITECTURES)
    assert body["count"] == len(ARCHITECTURES)
    quick = next(a for a in body["data"] if a["name"] == "quick_cnn")
    assert quick["epochs"] == ARCHITECTURES["quick_cnn"].recipe.epochs
    assert quick["batch_size"] == ARCHITECTURES["quick_cnn"].recipe.batch_size
    assert quick["description"] == ARCHITECTURES["quick_cnn"].description


def test_the_script_calls_only_paths_the_api_serves(client):
    script = (STATIC_DIR / "dashboard.js").read_text()
    called = {TEMPLATE_PART.sub("x", path).partition("?")[0] for path in API_PATH.findall(script)}
    routes = [_route_pattern(route) for route in client.get("/openapi.json").json()["paths"]]

    assert {"/model-names/x/aliases/x", "/model-names/x/rollback"} <= called
    for path in called:
        assert any(route.fullmatch(path) for route in routes), path


def _route_pattern(route: str) -> re.Pattern[str]:
    """A route of the API's schema as a pattern: each `{parameter}` matches one segment."""
    segments = route.split("/")
    return re.compile("/".join("[^/]+" if s.startswith("{") else re.escape(s) for s in segments))


def test_architectures_state_the_image_sizes_each_is_made_for(client):
    body = client.get("/architectures").json()

    sizes = {a["name"]: a["input_sizes"] for a in body["data"]}
    assert sizes["quick_cnn"] == {"design": 32, "low": 24, "high": 256, "smallest": 7}
    assert sizes["seed_cnn"] == {"design": 32, "low": 24, "high": 64, "smallest": 18}
    assert sizes["airbench"]["high"] == 256
