"""What a partner's provisioning endpoint answered, as the contract carries it."""

from __future__ import annotations

from integrations.provisioning.service import partner_response


def test_the_partners_account_id_is_read_from_a_json_body() -> None:
    answer = partner_response(200, '{"account_id": 4711, "status": "ok"}')

    assert answer.external_account_id == "4711"
    assert answer.status_code == 200


def test_a_body_that_is_not_an_object_carries_no_account_id() -> None:
    for body in ("accepted", "[1, 2]", '{"account_id": true}', ""):
        assert partner_response(202, body).external_account_id is None


def test_a_body_nested_past_the_parsers_limit_is_kept_as_text_not_a_crash() -> None:
    body = "[" * 100_000 + "]" * 100_000

    answer = partner_response(200, body)

    assert answer.external_account_id is None
    assert answer.body == body[:4096]
