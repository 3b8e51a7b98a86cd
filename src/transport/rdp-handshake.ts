// An RDP check from the controller: send a TPKT + X.224 Connection Request carrying an
// RDP negotiation request for TLS, and expect an X.224 Connection Confirm (0xD0). The
// negotiation response says which security protocol the server selected.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

export interface RdpHandshakeResult {
  ok: boolean;
  /** 0 standard RDP security, 1 TLS, 2 CredSSP, 8 RDSTLS; undefined when no negotiation response */
  selectedProtocol?: number;
  reason: string;
}

// TPKT (4) + X.224 CR (7) + RDP_NEG_REQ (8) requesting PROTOCOL_SSL | PROTOCOL_HYBRID
export const CONNECTION_REQUEST = Buffer.from([
  0x03, 0x00, 0x00, 0x13, 0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00,
]);

const PROTOCOLS: Record<number, string> = { 0: 'standard RDP security', 1: 'TLS', 2: 'CredSSP (NLA)', 8: 'RDSTLS' };

/** Pure: what a server's answer to CONNECTION_REQUEST means. */
export function parseConnectionConfirm(reply: Buffer): RdpHandshakeResult {
  if (reply.length < 11 || reply[0] !== 0x03)
    return { ok: false, reason: `not an RDP answer (${reply.subarray(0, 8).toString('hex') || 'nothing'})` };
  const code = reply[5]! & 0xf0;
  if (code !== 0xd0)
    return { ok: false, reason: `X.224 answer 0x${code.toString(16)} instead of a connection confirm (0xd0)` };
  if (reply.length >= 19 && reply[11] === 0x02) {
    const selected = reply.readUInt32LE(15);
    return {
      ok: true,
      selectedProtocol: selected,
      reason: `connection confirm, ${PROTOCOLS[selected] ?? `protocol ${selected}`} selected`,
    };
  }
  if (reply.length >= 19 && reply[11] === 0x03)
    return { ok: false, reason: `negotiation failure code ${reply.readUInt32LE(15)}` };
  return { ok: true, selectedProtocol: 0, reason: 'connection confirm without negotiation (standard RDP security)' };
}

export function rdpHandshake(host: string, port: number, timeoutMs = 10_000): Promise<RdpHandshakeResult> {
  const sock = connect({ host, port });
  sock.setNoDelay(true);
  return rdpHandshakeOn(sock, `${host}:${port}`, timeoutMs, new Promise((resolve) => sock.once('connect', resolve)));
}

/**
 * The same exchange on a stream that is already open, e.g. an SSH direct-tcpip channel to
 * the host's 127.0.0.1:port (rdp_access: tunnel). `where` names the far end in reasons.
 */
export function rdpHandshakeOn(
  stream: Duplex,
  where: string,
  timeoutMs = 10_000,
  opened: Promise<unknown> = Promise.resolve(),
): Promise<RdpHandshakeResult> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (r: RdpHandshakeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: `no answer from ${where} within ${timeoutMs} ms` }),
      timeoutMs,
    );
    void opened.then(() => {
      if (!done) stream.write(CONNECTION_REQUEST);
    });
    stream.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 4 && got.length >= got.readUInt16BE(2)) finish(parseConnectionConfirm(got));
    });
    stream.on('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, reason: `${where}: ${err.code ?? err.message}` }),
    );
    stream.once('close', () =>
      finish(
        got.length
          ? parseConnectionConfirm(got)
          : { ok: false, reason: `${where} closed the connection without answering` },
      ),
    );
  });
}
