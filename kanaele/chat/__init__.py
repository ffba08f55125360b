"""Chat channel: citizen chat page and widget, forwarding to Rasa while the bot owns a conversation, the chat
queue in the agent desk, hand-off, hand-back and conversion to a ticket."""
