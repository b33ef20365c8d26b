"""The promotions review family: rules, figures and review."""
