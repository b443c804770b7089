"""The 1C OData simulator over real HTTP: 1C's URL forms, $filter/$select/$top, keys, posting,
error bodies, Basic authentication and the injected faults."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from vitrina_simulators.onec import (
    ENTITY_SETS,
    OneCConfig,
    odata_root,
    parse_filter,
    parse_resource,
    running,
)

COUNTERPARTIES = "Catalog_Контрагенты"
SALES = "Document_РеализацияТоваровУслуг"


@pytest.fixture
def server() -> Iterator[str]:
    with running(OneCConfig(users={"odata": "pw"}, base="bp")) as url:
        yield url


@pytest.fixture
def root(server: str) -> str:
    return odata_root(server, "bp")


def json_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body


def test_resource_paths_in_1c_forms() -> None:
    key = "3ca886b6-aabd-11e7-1a8d-021c5dd9fc20"
    assert parse_resource(f"{SALES}(guid'{key}')/Post()").action == "Post"
    assert parse_resource(f"{COUNTERPARTIES}(guid'{key}')").key == key
    with pytest.raises(Exception, match="документу"):
        parse_resource(f"{COUNTERPARTIES}(guid'{key}')/Post()")


def test_filter_grammar() -> None:
    counterparties = ENTITY_SETS[COUNTERPARTIES]
    match = parse_filter(
        "ИНН eq '5012345672' and (КПП eq '' or КПП eq '501201001')", counterparties
    )
    assert match({"ИНН": "5012345672", "КПП": "501201001"})
    assert not match({"ИНН": "5012345672", "КПП": "770401001"})
    quoted = parse_filter("Description eq 'ООО ''Ромашка'''", counterparties)
    assert quoted({"Description": "ООО 'Ромашка'"})
    with pytest.raises(Exception, match="не найдено"):
        parse_filter("Нет eq '1'", counterparties)
    with pytest.raises(Exception, match="Неподдерживаемая"):
        parse_filter("ИНН like '1'", counterparties)


async def test_crud_filter_select_top_and_posting(root: str) -> None:
    async with httpx.AsyncClient(auth=("odata", "pw")) as client:
        created = await client.post(
            f"{root}/{COUNTERPARTIES}?$format=json",
            json={"Description": "Ромашка", "ИНН": "5012345672", "КПП": "501201001"},
        )
        assert created.status_code == 201
        entity = json_of(created)
        assert entity["odata.metadata"].endswith(f"$metadata#{COUNTERPARTIES}/@Element")
        assert entity["Code"]
        assert entity["DataVersion"]
        assert entity["DeletionMark"] is False
        key = entity["Ref_Key"]
        await client.post(
            f"{root}/{COUNTERPARTIES}", json={"Description": "Другой", "ИНН": "7704123450"}
        )

        found = json_of(
            await client.get(
                f"{root}/{COUNTERPARTIES}",
                params={
                    "$format": "json",
                    "$filter": "ИНН eq '5012345672'",
                    "$select": "Ref_Key,ИНН",
                },
            )
        )
        assert found["value"] == [{"Ref_Key": key, "ИНН": "5012345672"}]
        top = json_of(await client.get(f"{root}/{COUNTERPARTIES}?$format=json&$top=1"))
        assert len(top["value"]) == 1

        patched = await client.patch(
            f"{root}/{COUNTERPARTIES}(guid'{key}')", json={"КПП": "501245001"}
        )
        assert json_of(patched)["КПП"] == "501245001"
        assert json_of(patched)["DataVersion"] != entity["DataVersion"]

        sale = json_of(
            await client.post(
                f"{root}/{SALES}",
                json={
                    "Date": "2025-12-31T00:00:00",
                    "Контрагент_Key": key,
                    "Услуги": [{"Содержание": "Место", "Количество": 10, "Сумма": 5000}],
                },
            )
        )
        assert sale["Posted"] is False
        assert sale["Услуги"][0]["LineNumber"] == "1"
        posted = await client.post(f"{root}/{SALES}(guid'{sale['Ref_Key']}')/Post()")
        assert posted.status_code == 200
        again = json_of(
            await client.get(f"{root}/{SALES}(guid'{sale['Ref_Key']}')?$expand=Контрагент")
        )
        assert again["Posted"] is True
        assert again["Контрагент"]["Ref_Key"] == key


async def test_1c_error_bodies(root: str) -> None:
    async with httpx.AsyncClient(auth=("odata", "pw")) as client:
        missing = await client.get(
            f"{root}/{COUNTERPARTIES}(guid'00000000-0000-0000-0000-000000000001')"
        )
        assert missing.status_code == 404
        error = json_of(missing)["odata.error"]
        assert set(error) == {"code", "message"}
        assert error["message"]["lang"] == "ru"
        unknown = await client.post(f"{root}/{COUNTERPARTIES}", json={"Нет": 1})
        assert unknown.status_code == 400
        assert "Нет" in json_of(unknown)["odata.error"]["message"]["value"]
        no_date = await client.post(f"{root}/{SALES}", json={})
        assert "Date" in json_of(no_date)["odata.error"]["message"]["value"]
        posted_by_hand = await client.post(
            f"{root}/{SALES}", json={"Date": "2025-01-01T00:00:00", "Posted": True}
        )
        assert posted_by_hand.status_code == 400


async def test_basic_authentication(root: str) -> None:
    async with httpx.AsyncClient() as client:
        anonymous = await client.get(f"{root}/{COUNTERPARTIES}")
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        wrong = await client.get(f"{root}/{COUNTERPARTIES}", auth=("odata", "nope"))
        assert wrong.status_code == 401


async def test_faults_before_and_after_the_work(server: str, root: str) -> None:
    async with httpx.AsyncClient(auth=("odata", "pw")) as client:
        await client.post(f"{server}/simulator/faults", json={"times": 2, "status": 500})
        for _ in range(2):
            failed = await client.get(f"{root}/{COUNTERPARTIES}")
            assert failed.status_code == 500
            assert json_of(failed)["odata.error"]["code"] == "-1"
        assert (await client.get(f"{root}/{COUNTERPARTIES}")).status_code == 200

        await client.post(
            f"{server}/simulator/faults",
            json={"method": "POST", "entity_set": COUNTERPARTIES, "when": "after", "status": 503},
        )
        lost = await client.post(f"{root}/{COUNTERPARTIES}", json={"Description": "X"})
        assert lost.status_code == 503
        # The work was done although the answer was lost.
        assert len(json_of(await client.get(f"{root}/{COUNTERPARTIES}"))["value"]) == 1

        await client.post(f"{server}/simulator/faults", json={"status": None, "delay_seconds": 1})
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{root}/{COUNTERPARTIES}", timeout=0.3)
