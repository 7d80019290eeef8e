"""Server settings, read from the environment (prefix ``OPENREVOX_``) in ``create_app``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/openrevox.db"


class LlmEndpoint(BaseModel):
    """An OpenAI-compatible endpoint serving one dedicated-instance model name."""

    base_url: str
    api_key: SecretStr | None = None
    model: str | None = Field(default=None, description="Model name sent; default: the name.")


class ZohoConnection(BaseModel):
    """A Zoho CRM OAuth client (self client or server app) with its refresh token."""

    client_id: str
    client_secret: SecretStr
    refresh_token: SecretStr
    accounts_url: str = "https://accounts.zoho.com"
    api_domain: str = "https://www.zohoapis.com"


class Settings(BaseSettings):
    """Every server setting; see docs/configuration.md for the table."""

    model_config = SettingsConfigDict(env_prefix="OPENREVOX_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"
    default_organization_country: str = Field(
        default="US",
        description="ISO 3166-1 alpha-2 country given to new organizations.",
    )

    # Speech (docs/audio.md). A vendor is used when its key is set; otherwise the
    # local engines (piper, pocketsphinx) speak and listen if the fallback is on.
    cartesia_api_key: SecretStr | None = None
    elevenlabs_api_key: SecretStr | None = None
    gradium_api_key: SecretStr | None = None
    soniox_api_key: SecretStr | None = None
    deepgram_api_key: SecretStr | None = None
    local_speech_fallback: bool = Field(
        default=True,
        description="Use local piper/pocketsphinx when the wanted vendor has no key.",
    )
    # Voices API (docs/voices.md): the vendors' REST APIs (fakes in tests) and the catalog cache.
    cartesia_base_url: str = Field(
        default="https://api.cartesia.ai", description="Cartesia's REST API (voices, clone, TTS)."
    )
    elevenlabs_base_url: str = Field(
        default="https://api.elevenlabs.io", description="ElevenLabs' REST API (voices, TTS)."
    )
    voice_catalog_ttl_secs: float = Field(
        default=600.0, ge=0, description="How long a vendor's voice catalog is cached; 0: never."
    )
    voice_provider_timeout_secs: float = Field(default=20.0, gt=0, le=300)
    recordings_dir: Path = Field(
        default=Path("./data/recordings"),
        description="Folder where stereo call recordings (WAV) are written.",
    )
    batched_vad: bool = Field(
        default=True,
        description="Score every call's Silero VAD in shared batches on the event loop "
        "(runtime/audio/batched_vad.py), not with an ONNX session and a thread per call "
        "(false: Pipecat's per-call SileroVADAnalyzer; docs/audio.md).",
    )

    # Call runtime: LLM routing (docs/runtime.md).
    openai_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint for dedicated-instance models (default OpenAI).",
    )
    openai_api_key: SecretStr | None = None
    llm_endpoints: dict[str, LlmEndpoint] = Field(
        default_factory=dict,
        description='Per dedicated-instance model: {"name": {"base_url", "api_key", "model"}}.',
    )
    openrouter_api_key: SecretStr | None = None
    openrouter_base_url: str = "https://openrouter.ai/api/v1"
    openai_realtime_url: str = Field(
        default="wss://api.openai.com/v1/realtime",
        description="WebSocket endpoint of OpenAI's Realtime API, for realtime models "
        "(provider openai); uses OPENREVOX_OPENAI_API_KEY.",
    )
    openai_realtime_transcription_model: str = Field(
        default="gpt-4o-mini-transcribe",
        description="Model that transcribes the caller for realtime models' transcripts.",
    )
    openai_realtime_text_model: str = Field(
        default="gpt-4.1-mini",
        description="Chat model for what a realtime model cannot do (warm-transfer "
        "briefings, post-call analysis), routed as a dedicated-instance model.",
    )
    llm_timeout_secs: float = Field(default=30.0, gt=0)
    llm_max_retries: int = Field(default=1, ge=0, le=5)
    # Call runtime: limits and tools.
    user_inactivity_timeout_secs: float = Field(
        default=30.0, ge=0, description="End a call the callee left silent this long; 0: never."
    )
    custom_tool_timeout_secs: float = Field(default=10.0, gt=0)
    calendly_base_url: str = "https://api.calendly.com"
    calendly_tokens: dict[str, SecretStr] = Field(
        default_factory=dict, description="Calendly access token per connection_id (JSON)."
    )

    # Dispatcher and workers (docs/dispatcher.md).
    dispatcher_in_process: bool = Field(
        default=True, description="`serve` also runs the dispatcher; off: run `openrevox worker`."
    )
    worker_id: str | None = Field(default=None, description="Default: host name and process id.")
    dispatcher_poll_interval_secs: float = Field(default=0.5, gt=0)
    dispatcher_lease_secs: float = Field(default=30.0, gt=0)
    dispatcher_heartbeat_secs: float | None = Field(
        default=None, gt=0, description="Lease renewal and cancel polling; default lease / 3."
    )
    dispatcher_batch_size: int = Field(default=50, ge=1, le=1000)
    dispatcher_max_calls_per_worker: int = Field(default=100, ge=1)
    dispatcher_shutdown_timeout_secs: float = Field(default=30.0, ge=0)
    organization_concurrency_limit: int = Field(default=10, ge=0)
    concurrency_key_limits: dict[str, int] = Field(
        default_factory=dict,
        description='Calls at once per concurrency.key (JSON {"key": 3}); the CLI table wins.',
    )
    telephony_provider: str = Field(
        default="simulated", description="simulated (default) or a configured vendor."
    )
    # The simulated phone network (docs/dispatcher.md#the-simulated-network).
    simulated_ring_secs: float = Field(default=2.0, ge=0)
    simulated_answer_secs: float = Field(default=1.0, ge=0)
    simulated_callee_script: list[str] = Field(
        default_factory=lambda: [
            "Hello?",
            "Yes, this is a good time. What is it about?",
            "I see, that sounds fine. Thank you.",
            "Goodbye!",
        ],
        description="What the simulated human says, one line per turn (JSON list).",
    )
    simulated_stats_path: Path | None = Field(
        default=None,
        description="A JSON file where the simulated network counts live and peak calls.",
    )

    # Telephony: Twilio (docs/telephony.md).
    public_base_url: str | None = Field(
        default=None,
        description="Public https:// base URL of this server (Twilio callbacks, media "
        "stream, recording links).",
    )
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base_url: str = Field(
        default="https://api.twilio.com", description="Twilio's REST API (a fake in tests)."
    )
    twilio_from_number: str | None = Field(
        default=None, description="Caller id when neither the call nor its assistant has one."
    )
    twilio_machine_detection: bool = Field(
        default=True, description="Answering-machine detection (asynchronous) on every dial."
    )
    twilio_ring_timeout_secs: int = Field(default=30, ge=5, le=600)
    twilio_poll_interval_secs: float = Field(default=0.25, gt=0, le=10)
    twilio_max_attempt_secs: float = Field(
        default=3 * 3600.0, gt=0, description="An attempt still live after this is hung up."
    )
    # Inbound calls (docs/phone_numbers.md).
    precall_lookup_timeout_secs: float = Field(
        default=5.0,
        gt=0,
        le=14,
        description="An assistant's precall_lookup_url must answer within this (Twilio "
        "waits 15 s for the call's TwiML).",
    )
    inbound_stream_wait_secs: float = Field(
        default=60.0,
        gt=0,
        description="An answered inbound call whose media stream has not connected after "
        "this is ended in error.",
    )
    twilio_media_wait_secs: float = Field(
        default=15.0,
        ge=0,
        description="After the call ended: wait for the media session's records.",
    )
    # After the call (docs/postcall.md, docs/notifications.md)
    analysis_base_url: str | None = Field(
        default=None,
        description="OpenAI-compatible endpoint for call analysis; default: the assistant's "
        "own LLM route.",
    )
    analysis_api_key: SecretStr | None = None
    analysis_model: str | None = Field(
        default=None, description="Model name for call analysis (with analysis_base_url)."
    )
    jobs_poll_interval_secs: float = Field(default=0.5, gt=0, le=60)
    jobs_lease_secs: float = Field(default=60.0, gt=0, le=3600)
    jobs_max_concurrent: int = Field(default=8, ge=1, le=256)
    delivery_retry_base_seconds: float = Field(
        default=10.0, gt=0, description="First retry delay of a failed delivery (doubles)."
    )
    delivery_retry_max_seconds: float = Field(default=3600.0, gt=0)
    delivery_retry_for_hours: float = Field(
        default=25.0, gt=0, description="Deliveries are retried this long before giving up."
    )
    webhook_timeout_secs: float = Field(default=10.0, gt=0, le=120)
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    email_from: str | None = Field(default=None, description="From address of notification emails.")
    sms_provider: Literal["local", "twilio"] = Field(
        default="local",
        description="local logs messages; twilio sends through Twilio Messaging "
        "(the twilio_* settings).",
    )
    slack_api_base_url: str = "https://slack.com/api"
    slack_connections: dict[str, SecretStr] = Field(
        default_factory=dict,
        description='Slack bot tokens by connection_id (JSON {"conn-id": "xoxb-..."}).',
    )
    zoho_connections: dict[str, ZohoConnection] = Field(
        default_factory=dict,
        description="Zoho CRM OAuth clients by connection_id (JSON; see docs/notifications.md).",
    )

    media_stream_secret: SecretStr | None = Field(
        default=None,
        description="Signs the media stream's token; default: derived from the Twilio auth token.",
    )

    @model_validator(mode="after")
    def _sms_provider_configured(self) -> Settings:
        if self.sms_provider == "twilio":
            missing = [
                f"OPENREVOX_{name.upper()}"
                for name in ("twilio_account_sid", "twilio_auth_token")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(f"OPENREVOX_SMS_PROVIDER=twilio needs {' and '.join(missing)}")
        return self

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("default_organization_country")
    @classmethod
    def _upper_country(cls, value: str) -> str:
        if len(value) != 2 or not value.isalpha():
            raise ValueError("must be an ISO 3166-1 alpha-2 country code such as US or FR")
        return value.upper()


def normalise_database_url(url: str) -> str:
    """Give plain ``postgresql://`` and ``sqlite://`` URLs their async driver."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url
