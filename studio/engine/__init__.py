"""The local offline engine: draft clips from prompts and images, and real edits.

Import the operations from `studio.engine.render`; nothing here imports Django.
"""
