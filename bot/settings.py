"""Settings from the environment and an optional `.env`. The names are a fixed contract."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/chungtay.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    bot_framework: Literal["ptb", "aiogram", "zalo"] = "ptb"
    bot_api_base_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    staff_ids: str = ""  # comma-separated Telegram user ids
    data_key: SecretStr | None = None  # Fernet key(s), comma-separated: the first encrypts
    data_key_file: Path = Path("data/chungtay.key")  # used when DATA_KEY is unset
    default_locale: Literal["vi", "en"] = "vi"
    org_name: str = "Sở Y tế"
    hotline: str = "111"
    police: str = "113"
    log_level: str = "INFO"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1:8080"
    webhook_secret: SecretStr | None = None
    worker_index: int = 0  # set by `run --workers N`; worker 0 registers the webhook
    bot_username: str | None = Field(default=None, description="for deep links when known")
    # staff (issue 4)
    coverage_target: float = 0.99  # share of verified children supported, as in the provincial plans
    holidays: str = ""  # extra non-working days, ISO dates: "2027-02-05,2027-02-06"
    recheck_days: int = 90  # collaborators re-check each open case this often
    # donors (issue 5)
    bank_bin: str | None = None  # NAPAS bank BIN (6 digits) of the organisation's donation account
    bank_account: str | None = None
    bank_account_name: str | None = None
    # operations (issue 8)
    retention_years: int = 5  # closed cases keep personal data this long
    public_url: str | None = None  # where one-time download links point (Zalo cannot send files)

    @cached_property
    def staff_id_list(self) -> list[str]:
        return [part.strip() for part in self.staff_ids.replace(";", ",").split(",") if part.strip()]

    def data_keys(self) -> list[str]:
        """The key ring: DATA_KEY (several, comma-separated, during a rotation) or the key file."""
        from storage.crypto import load_or_create_key_file

        if self.data_key is not None and self.data_key.get_secret_value().strip():
            return [k.strip() for k in self.data_key.get_secret_value().split(",") if k.strip()]
        return [load_or_create_key_file(self.data_key_file)]
