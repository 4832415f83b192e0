"""What grading needs beyond nbgrader itself."""
