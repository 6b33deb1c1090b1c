"""Configuration: YAML files -> validated, compiled lines; the configuration in force."""

from ivr.config.loader import COVERAGE_DAYS, PROJECT_DIR, Config, load

__all__ = ["COVERAGE_DAYS", "PROJECT_DIR", "Config", "load"]
