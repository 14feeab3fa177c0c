"""Orchestra: a locally hosted platform for running teams of LLM agents."""

__version__ = "0.1.0"
