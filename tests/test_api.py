from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core.runtime import Runtime

from .support.factories import load_regions


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_docs_are_served_without_any_cdn(client: TestClient) -> None:
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert "/api/health" in client.get("/api/openapi.json").json()["paths"]


def test_a_region_comes_with_its_ancestors_and_children(client: TestClient, runtime: Runtime) -> None:
    with runtime.database.unit_of_work() as db:
        load_regions(db)
    body = client.get("/api/regions/210802001").json()
    assert body["name"] == "建设街道"
    assert [a["code"] for a in body["ancestors"]] == ["210800", "210802"]
    assert [c["code"] for c in body["children"]] == ["210802001001"]
    grids = client.get("/api/regions/210802/subtree", params={"level": "grid"}).json()
    assert [g["code"] for g in grids] == ["210802001001001", "210802001001002"]
    assert [r["code"] for r in client.get("/api/regions").json()] == ["210800"]


def test_domain_errors_are_rendered_with_their_status(client: TestClient) -> None:
    response = client.get("/api/regions/999999", headers={"accept-language": "en-US,en;q=0.9"})
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "region 999999 does not exist"}}


def test_error_messages_speak_the_callers_language(client: TestClient) -> None:
    chinese = client.get("/api/regions/999999", headers={"accept-language": "zh-CN"})
    assert chinese.json() == {"error": {"code": "not_found", "message": "区划 999999 不存在"}}
    # Without a preference the city's own language is the default.
    assert client.get("/api/regions/999999").json()["error"]["message"] == "区划 999999 不存在"


def test_bad_parameters_and_unknown_routes_use_the_same_error_shape(client: TestClient) -> None:
    bad = client.get("/api/regions/210802/subtree", params={"level": "county"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid"
    assert "level" in bad.json()["error"]["message"]
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not Found"}}


def test_validation_errors_speak_the_callers_language(client: TestClient) -> None:
    english = client.get("/api/regions/210802/subtree", params={"level": "county"}, headers={"accept-language": "en"})
    assert english.json()["error"]["message"] == (
        "level must be one of 'city', 'district', 'street', 'community' or 'grid'"
    )
    chinese = client.get("/api/regions/210802/subtree", params={"level": "county"}, headers={"accept-language": "zh"})
    assert chinese.json()["error"]["message"].startswith("level 必须是以下之一：")


def test_a_body_that_is_not_utf8_is_refused_as_invalid_json(client: TestClient) -> None:
    # Found by the fuzzer (test_schemathesis.py): FastAPI answered 400 "There was an error parsing the body",
    # a status no operation declares, for bytes that do not decode.
    for body in (b"\xff", b"\x00\x00\x00\x00\x00"):
        response = client.post("/api/cases", content=body, headers={"content-type": "application/json",
                                                                       "accept-language": "en"})  # fmt: skip
        assert response.status_code == 422
        assert response.json() == {"error": {"code": "invalid", "message": "the request body is not valid JSON"}}


def test_the_openapi_document_declares_each_operations_errors_with_the_one_error_shape(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's default 422 body, which the API never sends
    assert schemas["ErrorBody"]["required"] == ["error"]
    assert schemas["ErrorDetail"]["required"] == ["code", "message"]
    assert schemas["ErrorDetail"]["additionalProperties"] is False

    def errors(method: str, path: str) -> dict[str, str]:
        responses = document["paths"][path][method]["responses"]
        return {status: r["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                for status, r in responses.items() if status >= "400"}  # fmt: skip

    # 503: a caller without credentials may find the guests' turns taken (web/limits.py); the probe is exempt.
    every = dict.fromkeys(["401", "403", "404", "409", "413", "422", "503"], "ErrorBody")
    assert errors("post", "/api/contacts") == every  # authenticated, names things, writes, has a body
    assert errors("get", "/api/cases/{case_id}") == {s: e for s, e in every.items() if s not in ("409", "413")}
    assert errors("get", "/api/venues/{ref}/occupancy") == dict.fromkeys(["404", "422", "503"], "ErrorBody")
    assert errors("get", "/api/ping") == {"422": "ErrorBody"}  # every URL is checked for control characters
