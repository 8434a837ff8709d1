"""``python -m soundstage`` runs the command line."""

from soundstage.cli.main import run

# Guarded: the web server's worker processes import the main module again, and must not rerun the CLI.
if __name__ == "__main__":
    run()
