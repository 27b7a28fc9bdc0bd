"""The sharing policy: loaded from ``policies/*.yaml``, and the only place access is decided."""
