"""The local OpenAI-compatible server as a fixture (see fake_openai.py)."""

from fake_openai import fake_openai

__all__ = ["fake_openai"]
