"""The orders review family: rules, figures and review."""
