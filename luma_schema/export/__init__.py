"""Readers of the catalogue: JSON Schema, OpenAPI and Markdown, each generated, never hand-kept."""
