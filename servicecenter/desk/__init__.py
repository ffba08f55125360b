"""The agent desk: search-as-you-type, the answer card, one-step contact logging, ticket queue and detail."""
