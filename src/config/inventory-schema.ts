// The inventory's YAML shape (SPEC §2), as zod schemas; keys are snake_case as users write them.
import * as z from '../zod.js';
import { HOST_KEY_POLICIES } from './host-key-policy.js';

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const varValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'a variable must be a string, number or boolean',
});
export const varsSchema = z.record(
  z.string().check(z.regex(VAR_NAME, 'variable names are letters, digits and _')),
  varValue,
);

const hostKeyPolicySchema = z.enum(HOST_KEY_POLICIES);

const stateDir = z
  .string()
  .check(z.regex(/^\/[^\s'"`;$\\]*$/, 'state_dir is an absolute path without spaces or quotes'));

const connectionFields = {
  state_dir: z.optional(stateDir),
  user: z.optional(z.string().check(z.minLength(1))),
  port: z.optional(z.number().check(z.int(), z.gte(1), z.lte(65535))),
  identity_file: z.optional(z.string().check(z.minLength(1))),
  become: z.optional(z.boolean()),
  vars: z.optional(varsSchema),
};

const hostSchema = z.strictObject({
  address: z.optional(
    z.string().check(z.minLength(1), z.regex(/^[^\s'"`;$]+$/, 'an address is a host name, IP or ssh_config alias')),
  ),
  ...connectionFields,
});

const alertsSchema = z.strictObject({
  mem_available_mb: z.optional(z.number().check(z.positive())),
  disk_free_gb: z.optional(z.number().check(z.positive())),
  cpu_pct: z.optional(z.number().check(z.positive(), z.lte(100))),
  cpu_sustained_s: z.optional(z.number().check(z.positive())),
  phase_warning_pct: z.optional(z.number().check(z.positive())),
  phase_critical_pct: z.optional(z.number().check(z.positive())),
});

// digitalocean: defaults of `up` (region, size, image, tag); a tag also adds every droplet
// carrying it as a host (SPEC §8). Slugs as DigitalOcean writes them.
const slug = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a DigitalOcean slug: lowercase letters, digits and -'));
const digitaloceanSchema = z.strictObject({
  tag: z.optional(
    z.string().check(z.regex(/^[A-Za-z0-9_:-]{1,255}$/, 'a DigitalOcean tag: letters, digits, _, : and -')),
  ),
  region: z.optional(slug),
  size: z.optional(slug),
  image: z.optional(
    z.string().check(z.regex(/^([a-z0-9][a-z0-9.-]{0,62}|\d{1,12})$/, 'an image slug or a snapshot id')),
  ),
});

export const inventorySchema = z.strictObject({
  defaults: z.optional(
    z.strictObject({
      ...connectionFields,
      host_key_policy: z.optional(hostKeyPolicySchema),
    }),
  ),
  hosts: z.optional(
    z.record(
      z.string().check(z.regex(HOST_NAME, 'host names are letters, digits, ".", "_" and "-"')),
      z.nullable(hostSchema),
    ),
  ),
  groups: z.optional(
    z.record(
      z.string().check(z.regex(HOST_NAME, 'group names are letters, digits, ".", "_" and "-"')),
      z.array(z.string()),
    ),
  ),
  host_key_policy: z.optional(hostKeyPolicySchema),
  known_hosts_file: z.optional(z.string().check(z.minLength(1))),
  alerts: z.optional(alertsSchema),
  digitalocean: z.optional(digitaloceanSchema),
  keep_runs: z.optional(z.number().check(z.int(), z.gte(1), z.lte(10_000))),
});

export type InventoryYaml = z.infer<typeof inventorySchema>;
