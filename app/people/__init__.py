"""The person index: children, their identifiers, and how records find them."""
