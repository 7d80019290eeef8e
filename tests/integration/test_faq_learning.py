"""Questions the agent could not answer become FAQ items waiting for a human, counted in
``pending_faq_count``; answering them through the assistant PATCH clears them."""

from __future__ import annotations

from sqlalchemy import update

from openrevox.storage.models import Call, utcnow
from openrevox.storage.repositories.assistants import add_learned_questions
from tests.integration.conftest import Api


async def test_learned_questions_wait_for_an_answer(api: Api) -> None:
    created = await api.client.post(
        "/assistants",
        json={
            "name": "Ava",
            "prompt": "You are Ava.",
            "faq_items": [{"question": "Opening hours?", "answer": "9 to 5."}],
        },
    )
    assert created.status_code == 201, created.text
    assistant = created.json()["assistant"]
    placed = await api.client.post(
        "/call", json={"assistant_id": assistant["id"], "phone_number": "+12025550100"}
    )
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["call"]["id"]

    async with api.db.write() as session:
        added = await add_learned_questions(
            session,
            call_id,
            ["Do you ship to Canada?", "  do you ship to canada? ", "Opening hours?", ""],
            utcnow(),
        )
    assert added == 1  # duplicates and known questions are not added again

    shown = (await api.client.get(f"/assistants/{assistant['id']}")).json()
    assert shown["pending_faq_count"] == 1
    learned = shown["faq_items"][-1]
    assert learned["question"] == "Do you ship to Canada?"
    assert (learned["answer"], learned["needs_human_answer"], learned["source"]) == ("", True, "ai")

    answered = [
        shown["faq_items"][0],
        {**learned, "answer": "Yes, in 5 days.", "needs_human_answer": False},
    ]
    patched = await api.client.patch(f"/assistants/{assistant['id']}", json={"faq_items": answered})
    assert patched.status_code == 200, patched.text
    after = patched.json()["assistant"]
    assert after["pending_faq_count"] == 0
    kept = after["faq_items"][-1]
    assert (kept["id"], kept["source"], kept["answer"]) == (learned["id"], "ai", "Yes, in 5 days.")


async def test_an_inline_assistant_has_no_faq_to_learn_into(api: Api) -> None:
    placed = await api.client.post(
        "/call",
        json={"assistant": {"prompt": "You are Ava."}, "phone_number": "+12025550100"},
    )
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["call"]["id"]
    async with api.db.write() as session:
        await session.execute(update(Call).where(Call.id == call_id).values(assistant_id=None))
        assert await add_learned_questions(session, call_id, ["Why?"], utcnow()) == 0
