"""Registry pieces a real Imbrace engine has but Imbrace Local cannot execute.

App connections name a piece (`pieceName`); the real engine answers 404 for a piece it does not
know. The production catalogue holds hundreds of pieces, so accepting only the few Local can run
would make the SDK page's own example (a Slack connection) fail offline. These names are accepted
for connections only: flows using their actions still fail at run time, saying Local cannot run
them, and they are not listed by `/v1/pieces`.
"""

from __future__ import annotations

CONNECTION_ONLY_PIECES: frozenset[str] = frozenset(
    f"@activepieces/piece-{name}"
    for name in (
        "airtable", "asana", "discord", "dropbox", "github", "gmail", "google-calendar",
        "google-drive", "google-sheets", "hubspot", "jira-cloud", "mailchimp", "microsoft-teams",
        "notion", "openai", "anthropic", "postgres", "mysql", "salesforce", "sendgrid", "shopify",
        "slack", "smtp", "stripe", "telegram-bot", "trello", "twilio", "whatsapp", "zendesk",
    )
)
