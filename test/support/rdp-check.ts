// The test's own look at an RDP port from outside, written apart from the product's
// rdp_check so one does not vouch for the other: an X.224 Connection Request asking for TLS
// only, the Connection Confirm's negotiation response, then a real TLS handshake on the same
// socket (what an RDP client does next), reporting the TLS version the server agreed to.
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface RdpProbe {
  /** X.224 code of the answer: 0xd0 is a Connection Confirm */
  x224Code?: number;
  /** RDP_NEG_RSP selectedProtocol: 1 = TLS */
  selectedProtocol?: number;
  /** e.g. "TLSv1.3", when the TLS handshake completed */
  tlsVersion?: string;
  error?: string;
}

// TPKT header, X.224 CR TPDU (LI 14, code 0xE0), RDP_NEG_REQ (type 1, length 8, PROTOCOL_SSL)
const REQUEST = Buffer.from('03000013' + '0ee00000000000' + '0100080001000000', 'hex');

export function probeRdp(host: string, port: number, timeoutMs = 15_000): Promise<RdpProbe> {
  return new Promise((resolve) => {
    const result: RdpProbe = {};
    const sock = connect({ host, port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error) result.error = error;
      sock.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(`no complete answer within ${timeoutMs} ms`), timeoutMs);
    sock.once('connect', () => sock.write(REQUEST));
    sock.once('error', (e) => finish(e.message));
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < buf.readUInt16BE(2)) return;
      sock.off('data', onData);
      result.x224Code = buf[5]! & 0xf0;
      if (buf.length >= 19 && buf[11] === 0x02) result.selectedProtocol = buf.readUInt32LE(15);
      if (result.x224Code !== 0xd0 || result.selectedProtocol !== 1) return finish();
      const tls = tlsConnect({ socket: sock, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
      tls.once('secureConnect', () => {
        result.tlsVersion = tls.getProtocol() ?? undefined;
        tls.destroy();
        finish();
      });
      tls.once('error', (e) => finish(`TLS: ${e.message}`));
    };
    sock.on('data', onData);
  });
}
