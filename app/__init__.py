"""Shield: case-level serious youth violence information sharing."""
