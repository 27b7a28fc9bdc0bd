"""The Front Door: a child's cross-agency record, within the reader's policy."""
