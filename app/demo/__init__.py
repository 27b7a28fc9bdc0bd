"""Synthetic Leeds data for ``shield demo``: a cohort of children and the records agencies hold about them."""
