import { CommonEnvSchema } from "@kasmap/contracts";
import { z } from "zod";

/** The authz service's environment (`services/authz/src/main.ts`; `npm start` composes it). */
export const AuthzEnvSchema = CommonEnvSchema.extend({
  /** Token of the bootstrap admin `root`; unset = no admin is created. */
  KASMAP_ADMIN_TOKEN: z.string().min(20).optional(),
});
export type AuthzEnv = z.infer<typeof AuthzEnvSchema>;
