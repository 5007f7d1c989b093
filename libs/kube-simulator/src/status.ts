/**
 * `meta/v1` Status bodies, worded as the real API server words them, because clients (and
 * collectors deciding between "forbidden" and "not found") read `reason` and `code`.
 */
export type StatusBody = {
  readonly kind: "Status";
  readonly apiVersion: "v1";
  readonly metadata: Record<string, never>;
  readonly status: "Failure";
  readonly message: string;
  readonly reason: string;
  readonly details?: { readonly name?: string; readonly group?: string; readonly kind?: string };
  readonly code: number;
};

export type StatusDetails = { readonly name?: string; readonly group?: string; readonly kind?: string };

export function failureStatus(
  code: number,
  reason: string,
  message: string,
  details?: StatusDetails,
): StatusBody {
  const body: StatusBody = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    code,
  };
  return details === undefined ? body : { ...body, details: withoutEmptyGroup(details) };
}

function withoutEmptyGroup(details: StatusDetails): StatusDetails {
  const { group, ...rest } = details;
  return group === undefined || group === "" ? rest : { ...rest, group };
}

export function unauthorizedStatus(): StatusBody {
  return failureStatus(401, "Unauthorized", "Unauthorized");
}

export function notFoundStatus(resource: string, group: string, name: string): StatusBody {
  const qualified = group === "" ? resource : `${resource}.${group}`;
  return failureStatus(404, "NotFound", `${qualified} "${name}" not found`, { name, group, kind: resource });
}

export function expiredWatchStatus(requested: number, oldest: number): StatusBody {
  return failureStatus(410, "Expired", `too old resource version: ${requested} (${oldest})`);
}

export function expiredListStatus(): StatusBody {
  return failureStatus(410, "Expired", "The provided continue parameter or resourceVersion is too old.");
}

export function badRequestStatus(message: string): StatusBody {
  return failureStatus(400, "BadRequest", message);
}

export function methodNotAllowedStatus(): StatusBody {
  return failureStatus(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
  );
}
