"""Talking to the MedMitra API: the HTTP client, what its answers mean, the sign-in token.

Nothing here knows the database: services/sync_engine.py decides what to send and what
an answer changes locally.
"""
