"""The realtime session: API dialects (GA and beta), the sans-I/O protocol, the WebSocket client."""
