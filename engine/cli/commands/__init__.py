"""One module per command group of the ``socieux`` CLI. Each parses its options, calls
public :class:`~engine.Engine` methods and renders through :mod:`engine.cli.console`."""
