// RDP through the tool's SSH connection, against a real sshd on 127.0.0.1: verify's
// handshake (rdp_check with rdp_access tunnel) and connect's local port forward both reach
// a service that listens on the far side's loopback only.
import { createServer, connect, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startTestFleet, type TestFleet } from '../support/test-fleet.js';
import { loadInventory } from '../../src/config/inventory.js';
import { createSshConnector } from '../../src/transport/ssh-connector.js';
import { controllerChecks } from '../../src/cli/controller-checks.js';
import { forwardLocalPort } from '../../src/transport/port-forward.js';
import { CONNECTION_REQUEST, parseConnectionConfirm } from '../../src/transport/rdp-handshake.js';
import type { Connection } from '../../src/transport/connection.js';

// an X.224 Connection Confirm selecting TLS (what xrdp with security_layer=tls answers)
const CONFIRM_TLS = Buffer.from([
  0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00,
]);

let fleet: TestFleet;
let rdp: Server;
let rdpPort: number;
let conn: Connection;
const requests: Buffer[] = [];

beforeAll(async () => {
  fleet = await startTestFleet(1, { prefix: 'tunnel' });
  rdp = createServer((s) =>
    s.once('data', (d: Buffer) => {
      requests.push(d);
      s.end(CONFIRM_TLS);
    }),
  );
  await new Promise<void>((r) => rdp.listen(0, '127.0.0.1', r));
  rdpPort = (rdp.address() as AddressInfo).port;
  const inv = loadInventory(fleet.inventoryPath);
  const connector = createSshConnector({ inventory: inv });
  await connector.prepare(fleet.names);
  conn = await connector.connect(fleet.names[0]!);
});

afterAll(async () => {
  conn?.close();
  await new Promise((r) => rdp?.close(r));
  await fleet?.stop();
});

test("rdp_check through SSH reaches the host's 127.0.0.1 and reads the confirm", async () => {
  const r = await controllerChecks(conn).run({
    kind: 'rdp-handshake',
    port: rdpPort,
    requireTls: true,
    through: 'ssh',
  });
  expect(r).toEqual({
    ok: true,
    reason: `127.0.0.1 127.0.0.1:${rdpPort} (through SSH): connection confirm, TLS selected`,
  });
  expect(requests.at(-1)).toEqual(CONNECTION_REQUEST);
});

test('rdp_check through SSH to a port where nothing listens fails with the reason', async () => {
  const closed = await new Promise<number>((r) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => r(p));
    });
  });
  const r = await controllerChecks(conn).run({ kind: 'rdp-handshake', port: closed, requireTls: true, through: 'ssh' });
  expect(r.ok).toBe(false);
  expect(r.reason).toMatch(new RegExp(`tunnel to 127\\.0\\.0\\.1:${closed}`));
});

test('a local port forwarded over the connection carries RDP both ways, then closes', async () => {
  const fwd = await forwardLocalPort(conn, { host: '127.0.0.1', port: rdpPort });
  expect(fwd.port).toBeGreaterThan(0);
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const s = connect(fwd.port, '127.0.0.1', () => s.write(CONNECTION_REQUEST));
    let got = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
    });
    s.on('close', () => resolve(got));
    s.on('error', reject);
  });
  expect(parseConnectionConfirm(reply)).toMatchObject({ ok: true, selectedProtocol: 1 });
  expect(fwd.accepted).toBe(1);
  await fwd.close();
  await expect(
    new Promise((resolve, reject) => {
      const s = connect(fwd.port, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (e: NodeJS.ErrnoException) => reject(e.code));
    }),
  ).rejects.toBe('ECONNREFUSED');
});

test('asking for a local port in use says so', async () => {
  const fwd = await forwardLocalPort(conn, { host: '127.0.0.1', port: rdpPort });
  await expect(forwardLocalPort(conn, { host: '127.0.0.1', port: rdpPort }, fwd.port)).rejects.toThrow(
    `local port ${fwd.port} is in use`,
  );
  await fwd.close();
});
