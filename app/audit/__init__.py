"""The tamper-evident audit: who saw or wrote what about which child, when, why, and the proof."""
