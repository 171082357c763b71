"""Chat and conversations: limits, the local provider's thresholds, OpenAI-compatible defaults (docs/chat.md)."""

from config.env import env

# Longest chat message accepted, in characters.
CHAT_MAX_MESSAGE_CHARS = env.int("CHAT_MAX_MESSAGE_CHARS", default=4000)
# How many earlier messages of the conversation are given to the model as memory.
CHAT_HISTORY_MESSAGES = env.int("CHAT_HISTORY_MESSAGES", default=20)
# The local provider answers from a passage only if its search score reaches this (0 to 1)...
CHAT_LOCAL_MIN_SCORE = env.float("CHAT_LOCAL_MIN_SCORE", default=0.01)
# ...and it contains at least this share of the question's words (stemmed), else it asks for contact details.
CHAT_LOCAL_MIN_COVERAGE = env.float("CHAT_LOCAL_MIN_COVERAGE", default=0.5)
# OpenAI-compatible endpoints: seconds per attempt and retries (timeouts, 429, 5xx) when the
# workspace's settings do not say otherwise.
CHAT_PROVIDER_TIMEOUT_SECONDS = env.float("CHAT_PROVIDER_TIMEOUT_SECONDS", default=30.0)
CHAT_PROVIDER_MAX_RETRIES = env.int("CHAT_PROVIDER_MAX_RETRIES", default=2)
# Knowledge passages given to an OpenAI-compatible model as context.
CHAT_CONTEXT_PASSAGES = env.int("CHAT_CONTEXT_PASSAGES", default=3)
# An open conversation without a message for this long is completed (`conversation.completed` webhook).
CONVERSATION_INACTIVITY_MINUTES = env.int("CONVERSATION_INACTIVITY_MINUTES", default=30)
