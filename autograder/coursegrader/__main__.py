from .run_nbgrader import skip_slow_optional_imports

skip_slow_optional_imports()  # before anything imports nbformat (see run_nbgrader)

from .cli import main  # noqa: E402

raise SystemExit(main())
