"""Rule data, installed as the package ``analyzer.rules`` (pyproject.toml).
Nothing to import here: read the files through ``analyzer.ruledata``."""
