"""The Schema Registry side of the wire: a client for dmcs's writers and readers, and
`dmcs registry`, an embedded Confluent-compatible registry stored on the broker."""
