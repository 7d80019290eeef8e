"""Concurrent requests (``AsyncRevox``): none is lost, partial updates do not overwrite."""

from __future__ import annotations

import asyncio

from revox import AsyncRevox

# Each concurrent partial update sets one different field.
TEXT_FIELDS = {
    "first_sentence": "First sentence.",
    "end_of_call_sentence": "Goodbye.",
    "voicemail_message": "Call back.",
    "sms_template": "Link: {{link}}",
    "after_call_sms_prompt": "Thanks.",
    "structured_output_prompt": "Extract.",
    "max_duration_end_message": "Time is up.",
    "warm_transfer_summary_instructions": "Be brief.",
    "voicemail_sms_prompt": "Missed you.",
    "webhook_url": "https://hooks.example.com/concurrent",
}


async def test_concurrent_creates_all_land(aclient: AsyncRevox) -> None:
    created = await asyncio.gather(
        *(aclient.assistants.create(name=f"Burst {i}", prompt="p") for i in range(8))
    )
    ids = {c.assistant.id for c in created}
    assert len(ids) == 8
    assert ids <= {a.id for a in (await aclient.assistants.list()).assistants}


async def test_concurrent_partial_updates_of_different_fields_all_land(
    aclient: AsyncRevox,
) -> None:
    for _ in range(3):
        assistant = (await aclient.assistants.create(name="Shared", prompt="p")).assistant
        await asyncio.gather(
            *(aclient.assistants.update(assistant.id, **{k: v}) for k, v in TEXT_FIELDS.items())
        )
        final = (await aclient.assistants.retrieve(assistant.id)).to_dict()
        lost = sorted(k for k, v in TEXT_FIELDS.items() if final.get(k) != v)
        assert lost == [], f"concurrent partial updates were overwritten: {lost}"


async def test_concurrent_faq_replacements_leave_one_list(aclient: AsyncRevox) -> None:
    for _ in range(3):
        assistant = (
            await aclient.assistants.create(
                name="FAQ", prompt="p", faq_items=[{"question": "Old?", "answer": "Old."}]
            )
        ).assistant
        await asyncio.gather(
            *(
                aclient.assistants.update(
                    assistant.id, faq_items=[{"question": f"Q{i}?", "answer": f"A{i}."}]
                )
                for i in range(6)
            )
        )
        final = (await aclient.assistants.retrieve(assistant.id)).faq_items or []
        # "When provided, replaces all existing FAQ items": one request's list wins whole.
        assert [f.question for f in final] in [[f"Q{i}?"] for i in range(6)], [
            f.question for f in final
        ]
