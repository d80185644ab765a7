"""Clients and scopes (domain.clients), API keys (intake.api_keys) and the reasons requests
are counted as rejected (intake.rejections): pure, no database."""

import pytest
from intake import api_keys, domain
from intake.domain import ENV_CLIENT, Client, Scope, ScopeMissing
from intake.domain.clients import parse_scopes
from intake.rejections import rejection_reason

REPORTER = Client("shop", frozenset({Scope.REPORT}))
AGENT = Client("desk", frozenset({Scope.AGENT}))
ADMIN = Client("ops", frozenset({Scope.ADMIN}))


@pytest.mark.parametrize(
    ("client", "needed", "allowed"),
    [
        (REPORTER, {Scope.REPORT}, True),
        (REPORTER, {Scope.AGENT}, False),
        (REPORTER, {Scope.AGENT, Scope.ADMIN}, False),
        (AGENT, {Scope.AGENT, Scope.ADMIN}, True),
        (ADMIN, {Scope.AGENT, Scope.ADMIN}, True),
        (ADMIN, {Scope.REPORT}, False),
        (ENV_CLIENT, {Scope.REPORT}, True),
        (ENV_CLIENT, {Scope.ADMIN}, True),
    ],
)
def test_a_client_needs_one_of_the_scopes(
    client: Client, needed: set[Scope], allowed: bool
) -> None:
    if allowed:
        domain.require_any(client, needed)
    else:
        with pytest.raises(ScopeMissing) as refused:
            domain.require_any(client, needed)
        assert set(refused.value.needed) == needed
        assert "this needs the scope" in str(refused.value)


@pytest.mark.parametrize(
    ("client", "reported_by", "readable", "contacts"),
    [
        (REPORTER, "shop", True, False),
        (REPORTER, "crm", False, False),
        (AGENT, "crm", True, True),
        (ADMIN, "crm", True, True),
        (ENV_CLIENT, "crm", True, True),
    ],
)
def test_who_reads_an_incident_and_its_customers_contacts(
    client: Client, reported_by: str, readable: bool, contacts: bool
) -> None:
    assert domain.may_read_incident(client, reported_by=reported_by) is readable
    assert domain.sees_customer_contacts(client) is contacts


def test_only_admins_set_a_tier() -> None:
    assert [domain.may_set_tier(c) for c in (REPORTER, AGENT, ADMIN, ENV_CLIENT)] == [
        False,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    "channel_client", [domain.EMAIL_CLIENT, domain.WEB_FORM_CLIENT, domain.EVENTS_CLIENT]
)
def test_the_channels_built_in_clients_only_report(channel_client: Client) -> None:
    assert channel_client.scopes == {Scope.REPORT}
    assert not domain.may_set_tier(channel_client)
    assert not domain.sees_customer_contacts(channel_client)
    assert channel_client.client_id in domain.BUILT_IN_CLIENT_IDS


@pytest.mark.parametrize(("logged_by", "needed"), [(None, Scope.REPORT), ("olga", Scope.AGENT)])
def test_only_an_agent_logs_a_report_for_the_customer(logged_by: str | None, needed: Scope) -> None:
    assert domain.scope_to_report(logged_by=logged_by) is needed


def test_scopes_are_parsed_and_unknown_ones_named() -> None:
    assert parse_scopes(" report, agent ") == {Scope.REPORT, Scope.AGENT}
    with pytest.raises(ValueError, match="unknown scope root, superuser"):
        parse_scopes("report,superuser,root")
    with pytest.raises(ValueError, match="at least one"):
        parse_scopes(" , ")


def test_an_issued_key_is_found_by_its_id_and_stored_only_as_a_digest() -> None:
    issued = api_keys.issue_key()
    assert api_keys.key_id_of(issued.key) == issued.key_id
    assert issued.key not in issued.digest and len(issued.digest) == 64
    assert api_keys.same_digest(api_keys.key_digest(issued.key), issued.digest)
    assert not api_keys.same_digest(api_keys.key_digest(issued.key + "x"), issued.digest)
    assert api_keys.issue_key().key != issued.key


@pytest.mark.parametrize(
    "key",
    ["", "k", "ik_", "ik_0123456789ab_short", "ik_0123456789ab_" + "é" * 43, "a b\x01\u2603" * 500],
)
def test_any_text_is_a_key_that_digests_without_raising(key: str) -> None:
    assert api_keys.key_id_of(key) is None
    assert len(api_keys.key_digest(key)) == 64
    assert len(api_keys.key_digest("\udcff")) == 64  # a lone surrogate too


@pytest.mark.parametrize(
    ("status", "routed", "given", "reason"),
    [
        (201, True, None, None),
        (500, True, None, None),
        (401, True, "invalid_api_key", "invalid_api_key"),
        (401, True, None, "unauthenticated"),
        (403, True, "insufficient_scope", "insufficient_scope"),
        (409, True, None, "conflict"),
        (422, True, None, "invalid"),
        (413, True, None, "too_large"),
        (503, False, None, "overloaded"),
        (503, True, None, "unavailable"),
        (418, True, None, "client_error_418"),
    ],
)
def test_rejection_reasons(
    status: int, routed: bool, given: str | None, reason: str | None
) -> None:
    assert rejection_reason(status, routed=routed, given=given) == reason
