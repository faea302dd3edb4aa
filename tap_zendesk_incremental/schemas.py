"""JSON schemas of the streams, from Zendesk's ticket object (see README: new fields)."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_zendesk_incremental.conform import SET_ASIDE, SET_ASIDE_SCHEMA

# Every stream's values that its types cannot hold, kept as JSON text (see conform.py).
MISMATCHES = th.Property(SET_ASIDE, th.CustomType(SET_ASIDE_SCHEMA))

# A custom field's value: text, number, checkbox, multi-select (array) or empty.
FIELD_VALUE = th.CustomType(
    {
        "type": ["null", "string", "number", "boolean", "array"],
        "items": {"type": ["null", "string", "number", "boolean"]},
    }
)
CUSTOM_FIELDS = th.ArrayType(
    th.ObjectType(
        th.Property("id", th.IntegerType),
        th.Property("value", FIELD_VALUE),
    )
)
# `via.source.from` / `to` differ per channel (email, web, api, ...): kept as open objects.
OPEN_OBJECT = th.CustomType({"type": ["null", "object"], "additionalProperties": True})
VIA = th.ObjectType(
    th.Property("channel", th.CustomType({"type": ["null", "string", "integer"]})),
    th.Property(
        "source",
        th.ObjectType(
            th.Property("from", OPEN_OBJECT),
            th.Property("to", OPEN_OBJECT),
            th.Property("rel", th.StringType),
        ),
    ),
)
SATISFACTION_RATING = th.ObjectType(
    th.Property("id", th.IntegerType),
    th.Property("score", th.StringType),
    th.Property("comment", th.StringType),
    th.Property("reason", th.StringType),
    th.Property("reason_id", th.IntegerType),
)
INTEGER_LIST = th.ArrayType(th.IntegerType)


def _props(type_: th.JSONTypeHelper, names: str) -> list[th.Property]:
    """Nullable properties of one type, named in a space-separated list."""
    return [th.Property(name, type_) for name in names.split()]


TICKET = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True, nullable=False),
    th.Property(
        "end_time",
        th.IntegerType,
        required=True,
        nullable=False,
        description="Export position after this ticket (Unix seconds): the STATE bookmark.",
    ),
    *_props(
        th.StringType,
        (
            "url external_id type subject raw_subject description priority status recipient "
            "encoded_id"
        ),
    ),
    *_props(
        th.IntegerType,
        (
            "custom_status_id requester_id submitter_id assignee_id organization_id group_id "
            "forum_topic_id problem_id ticket_form_id brand_id generated_timestamp "
            "deleted_ticket_form_id"
        ),
    ),
    *_props(
        INTEGER_LIST,
        "collaborator_ids follower_ids email_cc_ids sharing_agreement_ids followup_ids",
    ),
    th.Property("tags", th.ArrayType(th.StringType)),
    *_props(
        th.BooleanType,
        "has_incidents is_public allow_channelback allow_attachments from_messaging_channel",
    ),
    *_props(th.DateTimeType, "created_at updated_at due_at"),
    *_props(CUSTOM_FIELDS, "custom_fields fields"),
    th.Property("satisfaction_rating", SATISFACTION_RATING),
    th.Property("satisfaction_probability", th.NumberType),
    th.Property("via", VIA),
    th.Property("metric_set", OPEN_OBJECT),  # only with include=metric_sets
    MISMATCHES,
).to_dict()

# Sideloads (`include=`): the current state of the objects the exported tickets refer to.
_ID = th.Property("id", th.IntegerType, required=True, nullable=False)
USER = th.PropertiesList(
    _ID,
    *_props(
        th.StringType,
        (
            "url name email time_zone iana_time_zone phone shared_phone_number locale role "
            "external_id alias signature details notes ticket_restriction"
        ),
    ),
    *_props(th.IntegerType, "locale_id organization_id role_type custom_role_id default_group_id"),
    *_props(
        th.BooleanType,
        (
            "verified active shared shared_agent two_factor_auth_enabled moderator "
            "only_private_comments restricted_agent suspended report_csv"
        ),
    ),
    *_props(th.DateTimeType, "created_at updated_at last_login_at"),
    th.Property("tags", th.ArrayType(th.StringType)),
    th.Property("photo", OPEN_OBJECT),
    th.Property("user_fields", OPEN_OBJECT),
    MISMATCHES,
).to_dict()
GROUP = th.PropertiesList(
    _ID,
    *_props(th.StringType, "url name description"),
    *_props(th.BooleanType, "default deleted is_public"),
    *_props(th.DateTimeType, "created_at updated_at"),
    MISMATCHES,
).to_dict()
ORGANIZATION = th.PropertiesList(
    _ID,
    *_props(th.StringType, "url name external_id details notes"),
    *_props(th.BooleanType, "shared_tickets shared_comments"),
    th.Property("group_id", th.IntegerType),
    *_props(th.ArrayType(th.StringType), "domain_names tags"),
    *_props(th.DateTimeType, "created_at updated_at deleted_at"),
    th.Property("organization_fields", OPEN_OBJECT),
    MISMATCHES,
).to_dict()
MINUTES = th.ObjectType(
    th.Property("calendar", th.IntegerType), th.Property("business", th.IntegerType)
)
TICKET_METRIC_SET = th.PropertiesList(
    _ID,
    th.Property("ticket_id", th.IntegerType),
    th.Property("url", th.StringType),
    *_props(th.IntegerType, "group_stations assignee_stations reopens replies"),
    *_props(
        th.DateTimeType,
        (
            "created_at updated_at assignee_updated_at requester_updated_at status_updated_at "
            "initially_assigned_at assigned_at solved_at latest_comment_added_at "
            "custom_status_updated_at"
        ),
    ),
    *_props(
        MINUTES,
        (
            "reply_time_in_minutes reply_time_in_seconds first_resolution_time_in_minutes "
            "full_resolution_time_in_minutes agent_wait_time_in_minutes "
            "requester_wait_time_in_minutes on_hold_time_in_minutes"
        ),
    ),
    MISMATCHES,
).to_dict()

# Ticket events (`/api/v2/incremental/ticket_events`): one update of a ticket each.
ANY = th.CustomType({})  # a value whose type changes with the field it belongs to
# A child event is what that update changed. Its keys depend on its kind: a Create or Change
# names the field it set (`"status": "solved"`) next to `previous_value`; a Comment is the
# whole comment with `include=comment_events`. The common keys are declared; any other key
# is kept as it is (`additionalProperties: {}`: any key, any value; conform.is_open), so that
# no target drops or refuses it.
CHILD_EVENT = th.CustomType(
    {
        "type": ["null", "object"],
        "additionalProperties": {},
        "properties": {
            "id": {"type": ["null", "integer"]},
            "event_type": {"type": ["null", "string"]},
            "type": {"type": ["null", "string"]},
            "via": {},
            "via_reference_id": {"type": ["null", "integer"]},
            "previous_value": {},
            "added_tags": {"type": ["null", "array"], "items": {"type": ["null", "string"]}},
            "removed_tags": {"type": ["null", "array"], "items": {"type": ["null", "string"]}},
            "comment_present": {"type": ["null", "boolean"]},
            "comment_public": {"type": ["null", "boolean"]},
            "author_id": {"type": ["null", "integer"]},
            "audit_id": {"type": ["null", "integer"]},
            "body": {"type": ["null", "string"]},
            "html_body": {"type": ["null", "string"]},
            "plain_body": {"type": ["null", "string"]},
            "public": {"type": ["null", "boolean"]},
            "attachments": {"type": ["null", "array"], "items": {}},
            "created_at": {"type": ["null", "string"]},
        },
    }
)
SYSTEM = th.ObjectType(
    *_props(th.StringType, "client ip_address location"),
    *_props(th.NumberType, "latitude longitude"),
)
TICKET_EVENT = th.PropertiesList(
    _ID,
    th.Property(
        "end_time",
        th.IntegerType,
        required=True,
        nullable=False,
        description="Export position after this event (Unix seconds): the STATE bookmark.",
    ),
    *_props(th.IntegerType, "ticket_id timestamp updater_id"),
    th.Property("created_at", th.DateTimeType),
    *_props(th.StringType, "via event_type"),  # `via` is text here ("Web form")
    th.Property("system", SYSTEM),
    th.Property("merged_ticket_ids", INTEGER_LIST),
    th.Property("child_events", th.ArrayType(CHILD_EVENT)),
    *_props(th.BooleanType, "comment_present comment_public"),  # without comment_events
    MISMATCHES,
).to_dict()
# A comment, from the Comment child event of an event (`include=comment_events`).
TICKET_COMMENT = th.PropertiesList(
    _ID,
    *_props(th.IntegerType, "ticket_id audit_id author_id timestamp via_reference_id"),
    *_props(th.StringType, "type event_type body html_body plain_body"),
    th.Property("public", th.BooleanType),
    th.Property("attachments", th.ArrayType(OPEN_OBJECT)),
    th.Property("via", VIA),  # an object here, as on a ticket
    th.Property("created_at", th.DateTimeType),
    MISMATCHES,
).to_dict()
