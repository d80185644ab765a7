"""Local stack and test bootstrap: Kafka, PostgreSQL, an SMTP sink and the services, in .stack/."""
