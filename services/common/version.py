"""The running JustNet version, from the installed distribution."""

from importlib.metadata import PackageNotFoundError, version

try:
    VERSION = version("justnet")
except PackageNotFoundError:  # running from a source tree that is not installed
    VERSION = "0.0.0+source"
