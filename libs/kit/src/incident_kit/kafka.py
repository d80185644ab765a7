"""Kafka connection options from settings, shared by the FastStream broker and the outbox
producer, so SASL/TLS is configured once for production clusters."""

import ssl
from typing import Any

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from incident_kit.settings import ServiceSettings


def _ssl_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol not in {"SSL", "SASL_SSL"}:
        return None
    return ssl.create_default_context(cafile=settings.kafka_ssl_cafile)


def broker_security(settings: ServiceSettings) -> BaseSecurity | None:
    """FastStream's security object for the configured protocol and SASL mechanism."""
    context = _ssl_context(settings)
    mechanism = settings.kafka_sasl_mechanism
    if mechanism is None:
        return BaseSecurity(ssl_context=context) if context else None
    username = settings.kafka_sasl_username or ""
    password = settings.kafka_sasl_password or ""
    classes: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
        "PLAIN": SASLPlaintext,
        "SCRAM-SHA-256": SASLScram256,
        "SCRAM-SHA-512": SASLScram512,
    }
    return classes[mechanism](username, password, ssl_context=context)


def client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for a raw aiokafka client with the same connection settings."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    context = _ssl_context(settings)
    if context:
        options["ssl_context"] = context
    if settings.kafka_sasl_mechanism:
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password,
        }
    return options
