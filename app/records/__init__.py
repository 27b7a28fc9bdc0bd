"""Records posted by agency systems: incidents, PPNs, A&E attendances, YJS cases, education reports."""
