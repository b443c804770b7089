"""Vitrina's event contracts: every topic and event type, defined once.

``events`` holds the pydantic models, ``envelope`` the CloudEvents envelope they travel in,
``registry`` the topics and which events each carries; the JSON Schemas and the AsyncAPI document
in ``contracts/`` are generated from them (``vitrina-contracts generate``).
"""
