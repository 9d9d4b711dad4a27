"""Command core shared by the CLI and the widgets: functions that return data.

Front ends (``aitrade.cli``, ``widgets/``) only format what these return.
"""
