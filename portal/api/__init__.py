"""The JSON API (version 1) under /api/v1: bearer tokens, the same access policy as the pages, an OpenAPI document."""
