"""The rules of the clinic. Views, the CLI and tests call these; none of them reads a request."""
