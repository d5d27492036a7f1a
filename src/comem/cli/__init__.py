"""The `comem` command line: `main` assembles the app; one module per command group; `common` holds the
helpers they share."""
