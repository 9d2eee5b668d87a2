"""The aggregator: applies accepted reports to the stored state, exactly once."""
