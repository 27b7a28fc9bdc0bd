"""A&E navigators: the follow-up queue against the 24-hour first-contact standard."""
