// The inventory's YAML shape (SPEC §2), as zod schemas; keys are snake_case as users write them.
import { z } from 'zod';
import { HOST_KEY_POLICIES } from './host-key-policy.js';

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const varValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'a variable must be a string, number or boolean',
});
export const varsSchema = z.record(z.string().regex(VAR_NAME, 'variable names are letters, digits and _'), varValue);

const hostKeyPolicySchema = z.enum(HOST_KEY_POLICIES);

const stateDir = z.string().regex(/^\/[^\s'"`;$\\]*$/, 'state_dir is an absolute path without spaces or quotes');

const connectionFields = {
  state_dir: stateDir.optional(),
  user: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  identity_file: z.string().min(1).optional(),
  become: z.boolean().optional(),
  vars: varsSchema.optional(),
};

const hostSchema = z.strictObject({
  address: z
    .string()
    .min(1)
    .regex(/^[^\s'"`;$]+$/, 'an address is a host name, IP or ssh_config alias')
    .optional(),
  ...connectionFields,
});

const alertsSchema = z.strictObject({
  mem_available_mb: z.number().positive().optional(),
  disk_free_gb: z.number().positive().optional(),
  cpu_pct: z.number().positive().max(100).optional(),
  cpu_sustained_s: z.number().positive().optional(),
  phase_warning_pct: z.number().positive().optional(),
  phase_critical_pct: z.number().positive().optional(),
});

// digitalocean: defaults of `up` (region, size, image, tag); a tag also adds every droplet
// carrying it as a host (SPEC §8). Slugs as DigitalOcean writes them.
const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a DigitalOcean slug: lowercase letters, digits and -');
const digitaloceanSchema = z.strictObject({
  tag: z
    .string()
    .regex(/^[A-Za-z0-9_:-]{1,255}$/, 'a DigitalOcean tag: letters, digits, _, : and -')
    .optional(),
  region: slug.optional(),
  size: slug.optional(),
  image: z
    .string()
    .regex(/^([a-z0-9][a-z0-9.-]{0,62}|\d{1,12})$/, 'an image slug or a snapshot id')
    .optional(),
});

export const inventorySchema = z.strictObject({
  defaults: z
    .strictObject({
      ...connectionFields,
      host_key_policy: hostKeyPolicySchema.optional(),
    })
    .optional(),
  hosts: z
    .record(z.string().regex(HOST_NAME, 'host names are letters, digits, ".", "_" and "-"'), hostSchema.nullable())
    .optional(),
  groups: z
    .record(z.string().regex(HOST_NAME, 'group names are letters, digits, ".", "_" and "-"'), z.array(z.string()))
    .optional(),
  host_key_policy: hostKeyPolicySchema.optional(),
  known_hosts_file: z.string().min(1).optional(),
  alerts: alertsSchema.optional(),
  digitalocean: digitaloceanSchema.optional(),
  keep_runs: z.number().int().min(1).max(10_000).optional(),
});

export type InventoryYaml = z.infer<typeof inventorySchema>;
