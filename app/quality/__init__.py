"""PPN quality: the rules, the check before submission, and the partnership's quality report."""
