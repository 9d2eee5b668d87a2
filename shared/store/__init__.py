"""Redis access the services share: connections, consumer groups, reading the stored state."""
