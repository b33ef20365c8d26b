"""The service review family: rules, figures and review."""
