"""Who is in the sandbox: the shop's accounts, its customers on each channel, two admins.

Plain data, shared by the page, the webhook bodies and the demo. The ids are
the test fixtures' where a fixture names the person (สมชาย, Somsri, Ploy…), so a
signed fixture posted to a sandbox lands with a customer the page knows.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import SANDBOX_OWNER_ID, SANDBOX_PAGE_ID

# The LINE Official Account's own user id: a webhook's `destination`.
LINE_BOT_ID = "U3f9a1c07d2b84e6a9c5d8e2f4b7a1c30"
# The demo post customers comment on (Facebook), and the Instagram post.
DEMO_POST_ID = f"{SANDBOX_PAGE_ID}_122145678901234567"
DEMO_POST_TEXT = ("👕 เสื้อยืดคอลเลกชันใหม่มาแล้วค่ะ! A01 ชมพู · A02 ขาว · A03 ดำ ตัวละ 390 บาท\n"
                  "สนใจพิมพ์ CF ตามด้วยรหัส เช่น CF A01 ค่ะ")
DEMO_MEDIA_ID = "16011746664441947"
DEMO_MEDIA_TEXT = "กระเป๋าผ้า B01 ลายช้าง 250 บาท 🐘 คอมเมนต์ CF B01 ได้เลยค่ะ"


@dataclass(frozen=True, slots=True)
class Channel:
    key: str  # the contract's channel name
    label: str
    sign: str


CHANNELS = (
    Channel("line", "LINE", "🟢"),
    Channel("messenger", "Messenger", "💬"),
    Channel("facebook_comment", "Facebook comment", "📘"),
    Channel("instagram_dm", "Instagram DM", "🟣"),
    Channel("instagram_comment", "Instagram comment", "📸"),
    Channel("webchat", "Web chat", "🌐"),
    Channel("telegram", "Telegram", "✈️"),
)
CHANNEL_BY_KEY = {c.key: c for c in CHANNELS}


@dataclass(frozen=True, slots=True)
class Person:
    """A customer on one channel; `key` is what the page and the demo name them by."""

    key: str
    channel: str
    first_name: str
    last_name: str
    # LINE user id, PSID, IGSID, Telegram user id, or a Facebook commenter's id.
    external_id: str
    username: str = ""
    # A Facebook commenter's PSID: where a private reply to their comment lands.
    messaging_id: str = ""
    colour: tuple[int, int, int] = (120, 144, 156)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def shown_name(self) -> str:
        """The name as the customer's platform shows it."""
        if self.channel in ("instagram_dm", "instagram_comment"):
            return f"{self.name} (@{self.username})" if self.username else self.name
        return self.name


PEOPLE = (
    Person("somchai", "line", "สมชาย", "ใจดี", "U8e2d4c6b0a1f3e5d7c9b8a6f4e2d0c1b",
           colour=(46, 160, 67)),
    Person("malee", "line", "Malee", "Chaba", "Ub71c3e9f5a2d4086b1e7c3a9d5f2e804",
           colour=(232, 121, 169)),
    Person("napa", "line", "นภา", "ศรีสุข", "U5c0d2e4f6a8b1c3d5e7f9a0b2c4d6e81",
           colour=(99, 102, 241)),
    Person("somsri", "messenger", "Somsri", "Jaidee", "7234567890123456", colour=(24, 119, 242)),
    Person("thanapon", "messenger", "ธนพล", "วงศ์ไทย", "7234567890990011",
           colour=(14, 165, 233)),
    Person("pimchanok", "facebook_comment", "Pimchanok", "Srisuk", "8765432109876543",
           messaging_id="7234567890550001", colour=(234, 88, 12)),
    Person("wipa", "facebook_comment", "วิภา", "ทองดี", "8765432109870002",
           messaging_id="7234567890550002", colour=(202, 138, 4)),
    Person("ploy", "instagram_dm", "Ploy", "P.", "8123456789012345", username="ploy.pk",
           colour=(193, 53, 132)),
    Person("nat", "instagram_dm", "ณัฐ", "", "8123456789000002", username="nat.shopping",
           colour=(131, 58, 180)),
    Person("mint", "instagram_comment", "Mint", "", "8123456789000003", username="mint.mnt",
           colour=(253, 29, 29)),
    Person("faa", "instagram_comment", "ฟ้า", "", "8123456789000004", username="faa.sky",
           colour=(252, 175, 69)),
    Person("anna", "webchat", "Anna", "", "anna"),
    Person("ton_visitor", "webchat", "ต้น", "", "ton"),
    Person("ploy_tg", "telegram", "Ploy", "", "7001234567", username="ploy_pk",
           colour=(34, 158, 217)),
    Person("krit", "telegram", "กฤษ", "", "7001234568", colour=(0, 136, 204)),
)
PERSON_BY_KEY = {p.key: p for p in PEOPLE}


@dataclass(frozen=True, slots=True)
class Admin:
    key: str
    user_id: int
    name: str


ADMINS = (Admin("nok", SANDBOX_OWNER_ID, "Nok"), Admin("ton", 5123456789, "Ton"))
ADMIN_BY_KEY = {a.key: a for a in ADMINS}

