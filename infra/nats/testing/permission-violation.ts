import { PermissionViolationError } from "@nats-io/nats-core";

/**
 * Test-only: the PermissionViolationError a NATS operation failed with (it may be the cause of
 * a wrapper such as a JetStream API error); throws when the operation succeeded.
 */
export async function permissionViolation(operation: Promise<unknown>): Promise<PermissionViolationError> {
  try {
    await operation;
  } catch (error) {
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      if (e instanceof PermissionViolationError) return e;
    }
    throw error;
  }
  throw new Error("the operation succeeded but should have been refused");
}
