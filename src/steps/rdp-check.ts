// rdp_check: from the controller, the host answers an RDP connection request with a
// connection confirm (and TLS when require_tls), through the SSH connection to the host's
// loopback (access: tunnel, the default) or straight to its address (public). Nothing runs on the host; the engine
// performs the check through the controller-side checks it is handed.
import * as z from '../zod.js';
import type { StepType } from './step-type.js';

const schema = z.strictObject({
  port: z.union([
    z.number().check(z.int(), z.gte(1), z.lte(65535)),
    z.pipe(z.string().check(z.regex(/^\d{1,5}$/)), z.transform(Number)),
  ]),
  require_tls: z.optional(z.boolean()),
  // rdp_access: tunnel = xrdp on the host's loopback, reached through the SSH connection
  // (so also behind a ProxyJump bastion); public = straight to the host's address
  access: z.optional(z.enum(['tunnel', 'public'], { error: 'access is tunnel or public (rdp_access)' })),
});
type Args = z.infer<typeof schema>;

export const rdpCheckStep: StepType<Args> = {
  id: 'rdp_check',
  schema,
  fieldModes: {},
  probe: () => null,
  decide: () => ({ status: 'ok', reason: 'checked from the controller' }),
  local: (a) => ({
    kind: 'rdp-handshake',
    port: a.port,
    requireTls: a.require_tls ?? true,
    through: a.access === 'public' ? 'direct' : 'ssh',
  }),
};
