"""Bitget v2 (spot and USDT-M futures)."""
