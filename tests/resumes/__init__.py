"""Tests of resume intake, extraction, parsing and remote import."""
