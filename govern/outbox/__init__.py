"""The job outbox: a job is a row written in the transaction that asks for it, and a relay hands it to the broker."""
