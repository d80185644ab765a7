"""The runtime kit every service uses: settings, broker, database, outbox, inbox, metrics,
health, logging and the clock. Services share nothing else."""
