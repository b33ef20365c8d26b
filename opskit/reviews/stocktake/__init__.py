"""The stocktake review family: rules, figures and review."""
