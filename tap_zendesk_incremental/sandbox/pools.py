"""Pools for synthetic tickets: texts and field sets built once, then picked with one draw each."""

# Synthetic data, not secrets: `random` is the right tool. The odd characters are the point.
# ruff: noqa: S311, RUF001

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from tap_zendesk_incremental.sandbox.directory import BRAND_IDS, FORM_IDS

Draw = Callable[[], float]

WORDS = (
    "account",
    "order",
    "invoice",
    "refund",
    "password",
    "login",
    "error",
    "page",
    "shipping",
    "delivery",
    "payment",
    "card",
    "subscription",
    "plan",
    "upgrade",
    "downgrade",
    "export",
    "report",
    "dashboard",
    "integration",
    "webhook",
    "token",
    "browser",
    "mobile",
    "app",
    "update",
    "version",
    "release",
    "customer",
    "agent",
    "ticket",
    "macro",
    "trigger",
    "view",
    "the",
    "a",
    "to",
    "is",
    "not",
    "when",
    "after",
    "before",
    "since",
    "again",
    "still",
    "please",
    "help",
    "thanks",
    "urgent",
    "today",
    "yesterday",
    "morning",
    "broken",
    "missing",
    "wrong",
    "slow",
    "timeout",
    "cannot",
    "unable",
    "works",
    "failed",
    "charged",
    "twice",
)
PRODUCTS = ("Acme Cloud", "Widget Pro", "the mobile app", "Checkout", "Reports", "the API")
TEMPLATES = (
    "Cannot log in to {p}",
    "Refund request for order #{n}",
    "{p} crashes on startup",
    "Question about invoice {n}",
    "Shipping delay for order #{n}",
    "How do I reset my password?",
    "Feature request: dark mode in {p}",
    "Billing address change",
    "Error {n} when exporting",
    "Account locked after {d} attempts",
    "Charged twice for subscription",
    "Re: Re: Fwd: {p}",
)
# Subjects that break naive encoders, terminals and column widths.
UNICODE_SUBJECTS = (
    "Order arrived broken \U0001f4e6\U0001f4a5",
    "Thanks so much! \U0001f64f\U0001f60a",
    "\U0001f525 Urgent: site down \U0001f525",
    "Family emoji \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "ログインできません",
    "订单尚未发货，请帮忙查询",
    "비밀번호를 재설정할 수 없습니다",
    "لا أستطيع تسجيل الدخول إلى حسابي",
    "ההזמנה שלי לא הגיעה",
    "Mixed עברית and English 123",
    "Zoë's café — naïve façade",
    "Ελληνικά και русский текст",
    'He said "it\'s broken" \\ C:\\temp\\log.txt',
    "Line one\nLine two\ttabbed",
    "Separator\u2028inside",
    "Combining e\u0301 and \u00e9",
    "<script>alert(1)</script>",
)
UNICODE_PARAGRAPHS = (
    "お世話になっております。昨日から管理画面にログインできず、業務に支障が出ています。至急ご確認ください。",
    "مرحبا، لم أتمكن من الوصول إلى الفواتير منذ التحديث الأخير. أرجو المساعدة في أقرب وقت.",
    "Hallo! Die Rechnung enthält einen Fehler: 19 % MwSt. statt 7 %. Grüße aus Köln \U0001f44b",
    "Привет! Приложение закрывается при открытии отчётов. Версия 5.2.1, Android 14.",
)
# One custom field id above 2**53: a consumer that goes through float64 cannot keep it.
BIG_FIELD_ID = 2**53 + 3
FIELD_IDS = (
    360_000_101,
    360_000_102,
    360_000_103,
    360_000_104,
    360_000_105,
    360_000_106,
    BIG_FIELD_ID,
    360_000_108,
)
PRIORITIES = ("urgent", "high", "normal", "normal", "low", None)
TAGS = (
    "vip",
    "billing",
    "refund",
    "bug",
    "feature_request",
    "mobile",
    "api",
    "escalated",
    "churn_risk",
    "enterprise",
    "trial",
    "sla_breach",
    "needs_review",
    "follow_up",
)


def _json(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


class Pools:
    """Subjects, descriptions and tag sets as ready JSON; the same for every data set."""

    def __init__(self) -> None:
        rng = random.Random(20240101)
        subjects = [self._templated(rng) for _ in range(600)]
        self.subjects = [_json(s) for s in subjects]
        self.unicode_subjects = [_json(s) for s in UNICODE_SUBJECTS]
        self.long_subject = _json(("Very long subject " * 600)[:10_000])
        paragraphs = [self._paragraph(rng) for _ in range(300)]
        paragraphs.extend(UNICODE_PARAGRAPHS * 3)
        # Without the quotes: a description is several paragraphs joined inside one string.
        self.paragraphs = [_json(p)[1:-1] for p in paragraphs]
        self.tag_sets = [sorted(rng.sample(TAGS, rng.randint(0, 4))) for _ in range(200)]

    @staticmethod
    def _templated(rng: random.Random) -> str:
        template = rng.choice(TEMPLATES)
        return template.format(
            p=rng.choice(PRODUCTS), n=rng.randint(10_000, 999_999), d=rng.randint(3, 12)
        )

    @staticmethod
    def _paragraph(rng: random.Random) -> str:
        words = rng.choices(WORDS, k=rng.randint(20, 110))
        return " ".join(words).capitalize() + "."

    def subject_json(self, rnd: Draw) -> str:
        draw = rnd()
        if draw < 0.01:
            return '""'
        if draw < 0.0105:
            return self.long_subject
        if draw < 0.07:
            return self.unicode_subjects[int(rnd() * len(self.unicode_subjects))]
        return self.subjects[int(rnd() * len(self.subjects))]

    def description_json(self, rnd: Draw) -> str:
        paras = self.paragraphs
        first = paras[int(rnd() * len(paras))]
        if rnd() < 0.4:
            return f'"Hello,\\n\\n{first}\\n\\n{paras[int(rnd() * len(paras))]}\\n\\nThanks"'
        return f'"Hello,\\n\\n{first}\\n\\nThanks"'


def settings(rng: random.Random, tag_sets: list[list[str]]) -> dict[str, Any]:
    """Ticket fields that vary independently of the ticket's identity and history."""
    fields = custom_fields(rng)
    chosen: dict[str, Any] = {
        "priority": rng.choice(PRIORITIES),
        "recipient": "support@example.zendesk.com" if rng.random() < 0.6 else None,
        "forum_topic_id": None,
        "is_public": rng.random() < 0.97,
        "tags": rng.choice(tag_sets),
        "custom_fields": fields,
        "satisfaction_rating": rating(rng),
        "sharing_agreement_ids": [360_000_500_001] if rng.random() < 0.02 else [],
        "fields": [dict(field) for field in fields],  # the documented alias, same content
        "ticket_form_id": rng.choice(FORM_IDS),
        "brand_id": rng.choice(BRAND_IDS),
        "allow_channelback": rng.random() < 0.05,
        "allow_attachments": rng.random() < 0.98,
        "from_messaging_channel": rng.random() < 0.05,
    }
    if rng.random() < 0.05:  # nulls where Zendesk documents values: consumers must cope
        for name in rng.sample(sorted(chosen), rng.randint(1, 3)):
            chosen[name] = None
    return chosen


def custom_fields(rng: random.Random) -> list[dict[str, Any]]:
    values = (  # one of each JSON type a custom field value can take
        f"Order {rng.randrange(10**6):06d}" if rng.random() < 0.7 else None,
        rng.randrange(-100, 5000),
        round(rng.random() * 1000, 2),
        rng.random() < 0.5,
        rng.choice([[], ["plan_basic"], ["plan_basic", "plan_pro"], None]),
        rng.choice(["tier_gold", "tier_silver", "tier_bronze", None]),
        "big-id field" if rng.random() < 0.5 else None,
        f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" if rng.random() < 0.3 else None,
    )
    return [{"id": fid, "value": value} for fid, value in zip(FIELD_IDS, values, strict=True)]


def rating(rng: random.Random) -> dict[str, Any] | None:
    draw = rng.random()
    if draw < 0.5:
        return None
    if draw < 0.7:
        return {"score": "unoffered"}  # as Zendesk sends it: no id, no comment
    score = rng.choice(["offered", "good", "good", "bad"])
    comment = {"good": "Thanks, quick and friendly! \U0001f44d", "bad": "Still broken."}
    reason = "Issue not resolved" if score == "bad" else None
    return {
        "id": rng.randrange(9_000_000, 19_000_000),
        "score": score,
        "comment": comment.get(score),
        "reason": reason,
    }
