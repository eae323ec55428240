"""Interface definitions (topics and their models), one module per component.

Which components exist is declared once, by their CSCs: see `dmcs.csc.registry`.
"""
