/**
 * Advisory lock keys, `pg_advisory_xact_lock(LOCK_CLASS, key)`. REGISTRY serialises every
 * command that changes the registry, so role checks, uniqueness checks and transfers see a
 * stable registry and outbox ids follow commit order (correct over fast: commands are rare).
 * OUTBOX serialises publishing, so the streams receive events in outbox order.
 */
export const LOCK_CLASS = 0x6b61;
export const REGISTRY_LOCK = 1;
export const OUTBOX_LOCK = 2;
