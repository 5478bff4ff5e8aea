"""Qt-free state of the panels that hold state: what to show and what to do next.

A panel binds widgets to its controller and forwards user actions and worker results to
it; the controller decides. No module here imports Qt (an import-linter contract), so
each is tested without a window.
"""
