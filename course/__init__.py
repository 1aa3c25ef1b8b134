"""The course package: data, pictures, widgets and checks that the notebooks import.

Every notebook starts with `from course import ...`; nothing here holds a solution or a hidden value.
"""
__version__ = "0.1.0"
