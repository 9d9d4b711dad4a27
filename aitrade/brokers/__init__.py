"""Brokers: domain types and protocol (base), and one package per venue."""
