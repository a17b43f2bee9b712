"""Reading received messages: Authentication-Results, our own second opinion (issue: round trip)."""
