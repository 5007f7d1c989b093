import { type Kysely, sql } from "kysely";

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
      -- Reverse lookup by IP or CIDR: one row per address an agent's latest snapshot reports
      -- (node IPs, api_endpoint_ip, agent_pod_ip as /32 or /128; pod and service CIDRs as
      -- their network), replaced with the snapshot. The GiST inet_ops index answers
      -- "contains this IP" (>>=) and "overlaps this CIDR" (&&) without a scan.
      create table read_model.cluster_addresses (
        agent_id bigint not null,
        field text not null,
        address inet not null,
        primary key (agent_id, field, address)
      );
      create index cluster_addresses_address on read_model.cluster_addresses using gist (address inet_ops);
    `.execute(db);
}
