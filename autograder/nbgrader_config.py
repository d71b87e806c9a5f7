"""nbgrader configuration of the course (used by `make release`, `make grade` and formgrader).

The course root is the repository: instructors' notebooks live in `solutions/`,
`make release` writes the student versions to `labs/`, and everything the
autograder produces stays under `autograder/`. The Makefile points nbgrader
here with JUPYTER_CONFIG_PATH=autograder.
"""
import os

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

c.CourseDirectory.root = root
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "labs"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(root, "autograder", "gradebook.db")

# Never copy trained weights or generated images when releasing or grading: the
# autograder always trains the submitted code itself.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback",
                            "checkpoints", "attention_heatmap.png"]

# Students may add cells of their own; grading still restores every locked cell.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
