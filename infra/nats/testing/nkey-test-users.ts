import { type Bus, connectBus } from "@kasmap/bus";
import type { Topology } from "@kasmap/contracts";
import { eventually } from "@kasmap/testing/harness";
import type { PrivateNatsServer } from "@kasmap/testing/private-servers";
import { nkeys } from "@nats-io/nats-core";
import { SERVICE_IDENTITIES, type ServiceIdentity } from "../render-authorization.ts";

/**
 * Test-only: nkey users for a private nats-server whose `authorization` block comes from
 * `renderAuthorization`. A user is its seed (`SU…`, the client's secret) and its public key
 * (`U…`, what the server config holds).
 */
export type NkeyTestUser = { seed: string; nkey: string };

export function newNkeyUser(): NkeyTestUser {
  const pair = nkeys.createUser();
  return { seed: new TextDecoder().decode(pair.getSeed()), nkey: pair.getPublicKey() };
}

/** One new user for each service identity (authz, projection, gateway, sync). */
export function newServiceUsers(): Record<ServiceIdentity, NkeyTestUser> {
  return Object.fromEntries(SERVICE_IDENTITIES.map((identity) => [identity, newNkeyUser()])) as Record<
    ServiceIdentity,
    NkeyTestUser
  >;
}

/** The `services` of `renderAuthorization`: each service identity's public key. */
export function servicePublicKeys(
  users: Readonly<Record<ServiceIdentity, NkeyTestUser>>,
): Record<ServiceIdentity, string> {
  return Object.fromEntries(SERVICE_IDENTITIES.map((identity) => [identity, users[identity].nkey])) as Record<
    ServiceIdentity,
    string
  >;
}

/**
 * A connection as `user`, retried until the server accepts it: a server just started, or one
 * still applying a reloaded `authorization` block, refuses the user at first.
 */
export function connectAsNkeyUser(
  server: PrivateNatsServer,
  topology: Topology,
  name: string,
  user: NkeyTestUser,
): Promise<Bus> {
  return eventually(
    () => connectBus({ url: server.url, name, topology, nkeySeed: user.seed }),
    `the private nats-server to accept ${name}\n${server.output}`,
  );
}
