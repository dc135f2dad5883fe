"""Values shared by the report tests and their fixtures."""

FAILING_MESSAGE = "GET http://api.local/health: status 503, expected 200"
