"""User-facing errors: one line, naming the field and what is allowed."""


class GanzooError(Exception):
    """Base class for errors the CLI reports as one line without a traceback."""


class ConfigError(GanzooError, ValueError):
    """A configuration value is invalid (bad field value, impossible combination)."""


class DataNotFoundError(GanzooError, FileNotFoundError):
    """Dataset files are missing and could not be fetched."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(message)
