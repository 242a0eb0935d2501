"""The Lesson page: the path through its steps, the steps, and the views only the Lesson uses."""
