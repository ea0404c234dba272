"""The domain: plain functions the web, the CLI and the scheduler all call. They flush, never commit."""
