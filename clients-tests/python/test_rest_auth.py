"""CXone authentication with requests (CONTRACT §2, D1): discovery, the token endpoint, the
id_token's claims, 401/403 and scopes, token lifetime on the mock clock."""


from __future__ import annotations

CLIENT = "requests-rest"

from datetime import datetime, timezone

from conftest import T0, assert_api_error, jwt_claims

T0_EPOCH = int(datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp())


def test_d1_openid_configuration(mock):
    r = mock.get("/.well-known/openid-configuration")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["issuer"] == mock.api
    assert doc["token_endpoint"] == f"{mock.api}/auth/token"
    # The advertised endpoint is the one that works.
    t = mock.tenant("acme")
    r = mock.http.post(doc["token_endpoint"], auth=(t.client_id, t.client_secret),
                       data={"grant_type": "password", "username": t.access_key_id,
                             "password": t.access_key_secret}, timeout=30)
    assert r.status_code == 200, r.text


def test_d1_cxone_configuration(mock):
    t = mock.tenant("acme")
    r = mock.get("/.well-known/cxone-configuration", params={"tenantId": t.tenant_id})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["api_endpoint"] == mock.api
    for field in ("area", "cluster", "domain"):
        assert isinstance(doc.get(field), str) and doc[field], doc


def test_d1_cxone_configuration_bad_tenant_is_json_4xx(mock):
    assert_api_error(mock.get("/.well-known/cxone-configuration", params={"tenantId": "t-nope"}), 404)
    assert_api_error(mock.get("/.well-known/cxone-configuration"), 400)


def test_d1_password_grant_token_shape_and_id_token_claims(mock):
    t = mock.tenant("acme")
    body = mock.token_body(t)
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"] and body["refresh_token"]
    assert set(body["scope"].split()) == {"data-download:read", "data-download:write", "storage:manage",
                                          "organization:read"}
    claims = jwt_claims(body["id_token"])
    assert claims["tenantId"] == t.tenant_id
    assert claims["iss"] == mock.api
    for field in ("area", "aud", "sub"):
        assert claims.get(field), claims
    assert claims["iat"] == T0_EPOCH, "iat follows the mock clock"
    assert claims["exp"] == T0_EPOCH + 3600


def test_d1_client_credentials_and_refresh_grants(mock):
    t = mock.tenant("acme")
    r = mock.post("/auth/token", auth=(t.client_id, t.client_secret), data={"grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    cc = r.json()
    assert mock.get("/api/v2/sea/credentials", cc["access_token"]).status_code in (200, 404)
    # client_id/client_secret as form fields instead of Basic.
    r = mock.post("/auth/token", data={"grant_type": "refresh_token", "refresh_token": cc["refresh_token"],
                                       "client_id": t.client_id, "client_secret": t.client_secret})
    assert r.status_code == 200, r.text
    refreshed = r.json()
    assert refreshed["access_token"] != cc["access_token"]
    assert jwt_claims(refreshed["id_token"])["tenantId"] == t.tenant_id


def test_d1_wrong_client_secret_is_401(mock):
    t = mock.tenant("acme")
    r = mock.token_response(t, client_secret=t.client_secret + "x")
    assert_api_error(r, 401)
    assert "access_token" not in r.text


def test_d1_wrong_api_key_secret_is_refused(mock):
    t = mock.tenant("acme")
    r = mock.token_response(t, password=t.access_key_secret + "x")
    assert_api_error(r, (400, 401))
    assert "access_token" not in r.text


def test_d1_no_token_is_401_with_www_authenticate(mock):
    for method, path in [("POST", "/api/v2/sea/credentials"), ("GET", "/api/v2/sea/credentials"),
                         ("GET", "/api/v2/storage/files"), ("GET", "/api/v2/storage/lifecycle-rules")]:
        r = mock.request(method, path)
        assert_api_error(r, 401)
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), (path, r.headers)


def test_d1_invalid_token_is_401(mock):
    r = mock.post("/api/v2/sea/credentials", "not-a-token")
    assert_api_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    r = mock.post("/api/v2/sea/credentials", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert_api_error(r, 401)


def test_d1_token_without_storage_scope_is_403(mock):
    t = mock.tenant("reader", scopes=["data-download:read"])
    body = mock.token_body(t)
    assert body["scope"].split() == ["data-download:read"]
    token = body["access_token"]
    assert_api_error(mock.post("/api/v2/sea/credentials", token), 403)
    assert_api_error(mock.get("/api/v2/sea/credentials", token), 403)
    assert_api_error(mock.get("/api/v2/storage/files", token), 403)
    r = mock.post("/api/v2/storage/lifecycle-rules", token,
                  json={"name": "x", "after_days": 0, "action": "copy_to_sea"})
    assert_api_error(r, 403)
    # Nothing was generated for the tenant by the refused call.
    generated = [e for e in mock.events(kind="sea.credentials_generated") if e.get("tenant_id") == t.tenant_id]
    assert generated == []


def test_d1_token_cannot_ask_for_scopes_the_user_lacks(mock):
    t = mock.tenant("reader", scopes=["data-download:read"])
    r = mock.token_response(t, scope="storage:manage")
    assert_api_error(r, (400, 401, 403))
    assert "access_token" not in r.text


def test_d1_token_expires_on_the_mock_clock(mock):
    t = mock.tenant("acme")
    token = mock.token(t)
    assert mock.post("/api/v2/sea/credentials", token).status_code == 201
    mock.advance(by="59m59s")
    assert mock.get("/api/v2/sea/credentials", token).status_code == 200
    mock.advance(by="2s")
    r = mock.get("/api/v2/sea/credentials", token)
    assert_api_error(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert mock.now() == "2026-01-01T01:00:01Z"


def test_d1_clock_starts_frozen_at_t0(mock):
    r = mock.get("/_mock/clock")
    assert r.status_code == 200
    assert r.json() == {"now": T0, "mode": "frozen"}
