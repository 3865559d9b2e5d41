"""A hook module that raises while it is imported (startup must stop, naming it)."""

raise RuntimeError("the hook module's own bug")
