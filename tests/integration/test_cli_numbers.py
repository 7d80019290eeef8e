"""``openrevox numbers add | list | remove`` on every backend (in-process CLI runner)."""

from __future__ import annotations

from typer.testing import CliRunner

from openrevox.cli.main import app


def run(database_url: str, *args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(app, list(args), env={"OPENREVOX_DATABASE_URL": database_url})
    return result.exit_code, result.stdout, result.stderr


def test_numbers_add_list_remove(sync_database_url: str) -> None:
    url = sync_database_url
    code, _, err = run(url, "keys", "create", "--org", "acme", "--email", "a@acme.test")
    assert code == 0, err
    code, out, err = run(
        url, "numbers", "add", "+1 415 555 0100", "--org", "acme", "--label", "Front desk"
    )
    assert code == 0, err
    number_id = out.strip().splitlines()[-1]
    assert "added +14155550100 (twilio) to 'acme'" in err
    code, out, err = run(
        url, "numbers", "add", "+14155550101", "--org", "acme", "--provider", "sip",
        "--inbound-sip-uri", "sip:+14155550101@pbx.example.com",
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run(url, "numbers", "list", "--org", "acme")
    assert code == 0
    assert number_id in out and "+14155550100" in out and "Front desk" in out
    assert "+14155550101" in out and "sip" in out
    # Mistakes are clear errors, nothing written.
    code, _, err = run(url, "numbers", "add", "+14155550100", "--org", "acme")
    assert code == 1 and "already a phone number of this organization" in err
    code, _, err = run(url, "numbers", "add", "12", "--org", "acme")
    assert code == 1 and "phone_number" in err
    code, _, err = run(url, "numbers", "add", "+14155550102", "--org", "acme", "--provider", "x")
    assert code == 1 and "provider" in err
    code, _, err = run(url, "numbers", "add", "+14155550102", "--org", "nobody")
    assert code == 1 and "no organization named 'nobody'" in err
    # Remove by number or by id.
    code, out, err = run(url, "numbers", "remove", "+1 415-555-0101", "--org", "acme")
    assert code == 0, err
    code, out, err = run(url, "numbers", "remove", number_id, "--org", "acme")
    assert code == 0 and number_id in out, err
    code, _, err = run(url, "numbers", "remove", "+14155550100", "--org", "acme")
    assert code == 1 and "is not a phone number of 'acme'" in err
    code, out, _ = run(url, "numbers", "list", "--org", "acme")
    assert "+1415555010" not in out


def test_numbers_simulate_inbound(sync_database_url: str) -> None:
    import asyncio

    from openrevox.schemas.assistants import AssistantCreate
    from openrevox.schemas.phone_numbers import PhoneNumberCreate
    from openrevox.services import assistants, auth, phone_numbers
    from openrevox.services.auth import Principal
    from openrevox.storage.database import Database
    from openrevox.storage.migrate import upgrade_async
    from openrevox.testing.fake_openai import FakeOpenAI

    url = sync_database_url

    async def seed() -> None:
        await upgrade_async(url)
        db = Database(url)
        try:
            async with db.write() as session:
                issued = await auth.issue_key(
                    session, organization_name="acme", email="a@acme.test", country="US"
                )
                principal = Principal(issued.organization.id, issued.user.id, issued.api_key.id)
                body = AssistantCreate(name="Reception", prompt="You are Ava.")
                view = await assistants.create(session, principal, body)
                number = PhoneNumberCreate(
                    phone_number="+14155550100",
                    provider="twilio",
                    inbound_assistant_id=view.assistant.id,
                )
                await phone_numbers.create(session, issued.organization.id, None, number)
        finally:
            await db.dispose()

    asyncio.run(seed())
    with FakeOpenAI(default="Hello, how can I help?") as llm:
        env = {
            "OPENREVOX_DATABASE_URL": url,
            "OPENREVOX_OPENAI_BASE_URL": llm.base_url,
            "OPENREVOX_OPENAI_API_KEY": "test-key",
            "OPENREVOX_USER_INACTIVITY_TIMEOUT_SECS": "0",
        }
        runner = CliRunner()
        args = ["numbers", "simulate-inbound", "+14155550100", "--from", "+12125550199"]
        result = runner.invoke(app, [*args, "--say", "Hi there.", "--say", "Bye!"], env=env)
        assert result.exit_code == 0, result.stderr
        assert "post_processing" in result.stderr
        assert len(result.stdout.strip().splitlines()[-1]) == 36  # the call id
        assert any("Hi there." in str(r.body) for r in llm.requests)
        rejected = runner.invoke(
            app, ["numbers", "simulate-inbound", "+14155550101", "--from", "+1212"], env=env
        )
        assert rejected.exit_code == 1 and "rejected" in rejected.stderr
