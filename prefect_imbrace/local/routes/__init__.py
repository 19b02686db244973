"""HTTP routes of Imbrace Local, one module per area; each handler is parse -> backend -> JSON."""
