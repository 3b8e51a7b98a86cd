// A local stand-in of the DigitalOcean API for tests, on 127.0.0.1. It holds to DigitalOcean's
// published description (src/cloud/openapi/digitalocean-api.yaml): every request is checked
// with ajv against the operation's parameters and body schema, and every answer it gives
// against the operation's response schema for that status, before it is sent. Anything
// outside the description is recorded in `violations` (tests assert it stays empty) and
// answered 400 (the described `default` error shape).
// On create it boots a droplet through the `boot` hook (fake droplets, in the end-to-end
// test) with exactly the public keys the request named, and reports it active with its
// address as soon as the address is known: before its sshd answers, as DigitalOcean does.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { REPO } from './cli.js';

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

const API_DESCRIPTION = join(REPO, 'src/cloud/openapi/digitalocean-api.yaml');

type Json = Record<string, unknown>;

interface BootedDroplet {
  /** resolves with the droplet's public IPv4 as soon as it has one (sshd may not answer yet) */
  address: Promise<string>;
  stop(): Promise<void>;
}

export interface StandinOptions {
  token: string;
  /** boots a droplet with these authorized keys; default: none (an address from 192.0.2.0/24, nothing listening) */
  boot?: (d: { name: string; publicKeys: string[] }) => BootedDroplet;
  /** the largest page the stand-in serves, whatever per_page asks (DigitalOcean: 200) */
  maxPerPage?: number;
  /** how long a snapshot action stays in progress */
  snapshotMs?: number;
}

interface InjectedAnswer {
  method: string;
  /** the path template of the operation, e.g. /v2/account/keys */
  path: string;
  status: number;
  times: number;
  headers?: Record<string, string>;
  body?: Json;
}

interface Operation {
  method: string;
  template: string;
  re: RegExp;
  pathNames: string[];
  params: { name: string; in: string; required: boolean; schema: Json; validate: ValidateFunction }[];
  body?: ValidateFunction;
  bodyRequired: boolean;
  responses: Map<string, ValidateFunction | null>;
}

interface Droplet {
  id: number;
  name: string;
  region: string;
  size: string;
  image: string | number;
  tags: string[];
  publicKeys: string[];
  status: 'new' | 'active';
  address?: string;
  createdAt: string;
  booted: BootedDroplet;
  snapshotIds: number[];
}

export interface DoStandin {
  url: string;
  violations: string[];
  /** method, path (template) and status of every request, in order */
  log: { method: string; path: string; status: number; query: string }[];
  keys: { id: number; name: string; public_key: string; fingerprint: string }[];
  droplets: Map<number, Droplet>;
  snapshots: Json[];
  inject(a: InjectedAnswer): void;
  /** adds keys straight to the account (long key lists) */
  addKeys(count: number): void;
  close(): Promise<void>;
}

const SIZES = [
  { slug: 's-1vcpu-1gb', memory: 1024, vcpus: 1, disk: 25, transfer: 1, price_monthly: 6, price_hourly: 0.00893 },
  { slug: 's-2vcpu-2gb', memory: 2048, vcpus: 2, disk: 60, transfer: 3, price_monthly: 18, price_hourly: 0.02679 },
  { slug: 's-2vcpu-4gb', memory: 4096, vcpus: 2, disk: 80, transfer: 4, price_monthly: 24, price_hourly: 0.03571 },
  { slug: 's-4vcpu-8gb', memory: 8192, vcpus: 4, disk: 160, transfer: 5, price_monthly: 48, price_hourly: 0.07143 },
];
const REGIONS = ['ams3', 'fra1', 'lon1', 'nyc3', 'sfo3', 'sgp1'];
const IMAGES: Record<string, { id: number; name: string; distribution: 'Debian' | 'Ubuntu' }> = {
  'debian-13-x64': { id: 190001, name: '13 x64', distribution: 'Debian' },
  'debian-12-x64': { id: 190002, name: '12 x64', distribution: 'Debian' },
  'ubuntu-24-04-x64': { id: 190003, name: '24.04 (LTS) x64', distribution: 'Ubuntu' },
};

function pointer(parts: string[]): string {
  return '#/' + parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

function loadOperations(ajv: Ajv, doc: Json): Operation[] {
  const deref = (obj: Json, at: string[]): [Json, string[]] => {
    const ref = obj.$ref;
    if (typeof ref !== 'string') return [obj, at];
    const parts = ref
      .replace(/^#\//, '')
      .split('/')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let cur: unknown = doc;
    for (const p of parts) cur = (cur as Json)[p];
    return deref(cur as Json, parts);
  };
  const compileAt = (at: string[]) => ajv.compile({ $ref: `do${pointer(at)}` });
  const ops: Operation[] = [];
  for (const [template, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, opRaw] of Object.entries(item)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const op = opRaw as Json;
      const pathNames: string[] = [];
      const re = new RegExp(
        '^' +
          template.replace(/\{([^}]+)\}/g, (_, n: string) => {
            pathNames.push(n);
            return '([^/]+)';
          }) +
          '$',
      );
      const params = ((op.parameters ?? []) as Json[]).map((p, i) => {
        const [def, at] = deref(p, ['paths', template, method, 'parameters', String(i)]);
        return {
          name: String(def.name),
          in: String(def.in),
          required: Boolean(def.required),
          schema: def.schema as Json,
          validate: compileAt([...at, 'schema']),
        };
      });
      let body: ValidateFunction | undefined;
      let bodyRequired = false;
      if (op.requestBody) {
        const [rb, at] = deref(op.requestBody as Json, ['paths', template, method, 'requestBody']);
        bodyRequired = rb.required === true;
        body = compileAt([...at, 'content', 'application/json', 'schema']);
      }
      const responses = new Map<string, ValidateFunction | null>();
      for (const [status, r] of Object.entries(op.responses as Record<string, Json>)) {
        const [resp, at] = deref(r, ['paths', template, method, 'responses', status]);
        const content = resp.content as Json | undefined;
        responses.set(
          status,
          content?.['application/json'] ? compileAt([...at, 'content', 'application/json', 'schema']) : null,
        );
      }
      ops.push({ method: method.toUpperCase(), template, re, pathNames, params, body, bodyRequired, responses });
    }
  }
  return ops;
}

function coerce(value: string, schema: Json): unknown {
  const types = [schema.type, ...((schema.anyOf ?? schema.oneOf ?? []) as Json[]).map((s) => s.type)];
  if (/^-?\d+$/.test(value) && (types.includes('integer') || types.includes('number'))) return Number(value);
  if ((value === 'true' || value === 'false') && types.includes('boolean')) return value === 'true';
  return value;
}

// compiled once per process: the description does not change under a test run
let compiled: Operation[] | undefined;
function operations(): Operation[] {
  if (!compiled) {
    const doc = parse(readFileSync(API_DESCRIPTION, 'utf8')) as Json;
    // OpenAPI 3.0 schemas: nullable is understood, x-* and example ignored; patterns are not unicode regexps
    const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
    addFormats(ajv);
    ajv.addSchema(doc, 'do');
    compiled = loadOperations(ajv, doc);
  }
  return compiled;
}

const errText = (v: ValidateFunction) =>
  (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');

export async function startDoStandin(opts: StandinOptions): Promise<DoStandin> {
  const ops = operations();
  const maxPerPage = opts.maxPerPage ?? 200;
  const violations: string[] = [];
  const log: DoStandin['log'] = [];
  const keys: DoStandin['keys'] = [];
  const droplets = new Map<number, Droplet>();
  const snapshots: Json[] = [];
  const actions = new Map<number, Json>();
  const injected: InjectedAnswer[] = [];
  let nextId = 100000 + randomInt(1000);
  let fakeAddress = 10;

  const boot = opts.boot ?? (() => ({ address: Promise.resolve(`192.0.2.${fakeAddress++}`), stop: async () => {} }));

  const fingerprint = (line: string) =>
    createHash('md5')
      .update(Buffer.from(line.trim().split(/\s+/)[1] ?? '', 'base64'))
      .digest('hex')
      .replace(/(..)(?!$)/g, '$1:');
  const region = (slug: string) => ({
    name: slug.toUpperCase(),
    slug,
    features: ['metadata', 'install_agent'],
    available: true,
    sizes: SIZES.map((s) => s.slug),
  });
  const size = (slug: string) => {
    const s = SIZES.find((x) => x.slug === slug)!;
    return { ...s, regions: REGIONS, available: true, description: 'Basic' };
  };
  const image = (ref: string | number) => {
    const slugged = typeof ref === 'string' ? IMAGES[ref] : undefined;
    if (slugged)
      return {
        id: slugged.id,
        name: slugged.name,
        distribution: slugged.distribution,
        slug: ref as string,
        public: true,
        regions: REGIONS,
        created_at: '2026-08-01T00:00:00Z',
        type: 'base',
        min_disk_size: 15,
        size_gigabytes: 2.4,
        description: 'stand-in image',
        tags: [],
        status: 'available',
      };
    const snap = snapshots.find((s) => Number(s.id) === ref)!;
    return {
      id: Number(snap.id),
      name: snap.name,
      distribution: 'Debian',
      slug: null,
      public: false,
      regions: snap.regions,
      created_at: snap.created_at,
      type: 'snapshot',
      min_disk_size: snap.min_disk_size,
      size_gigabytes: snap.size_gigabytes,
      description: '',
      tags: [],
      status: 'available',
    };
  };
  const dropletJson = (d: Droplet): Json => {
    const s = size(d.size);
    return {
      id: d.id,
      name: d.name,
      memory: s.memory,
      vcpus: s.vcpus,
      disk: s.disk,
      locked: false,
      status: d.status,
      kernel: null,
      created_at: d.createdAt,
      features: [],
      backup_ids: [],
      next_backup_window: null,
      snapshot_ids: d.snapshotIds,
      image: image(d.image),
      volume_ids: [],
      size: s,
      size_slug: d.size,
      networks: {
        v4: d.address
          ? [
              {
                ip_address: d.address,
                netmask: '255.255.255.0',
                gateway: d.address.replace(/\.\d+$/, '.1'),
                type: 'public',
              },
            ]
          : [],
        v6: [],
      },
      region: region(d.region),
      tags: d.tags,
      vpc_uuid: '5a4981aa-9653-4bd1-bef5-d6bff52042e4',
    };
  };
  const page = <T>(items: T[], q: URLSearchParams, base: string, key: string): Json => {
    const per = Math.min(maxPerPage, Number(q.get('per_page') ?? 20));
    const p = Number(q.get('page') ?? 1);
    const slice = items.slice((p - 1) * per, p * per);
    const last = Math.max(1, Math.ceil(items.length / per));
    const extra = [...q.entries()]
      .filter(([k]) => k !== 'page' && k !== 'per_page')
      .map(([k, v]) => `&${k}=${encodeURIComponent(v)}`)
      .join('');
    const link = (n: number) => `${base}?page=${n}&per_page=${per}${extra}`;
    const pages: Json =
      p < last ? { next: link(p + 1), last: link(last) } : p > 1 ? { first: link(1), prev: link(p - 1) } : {};
    return { [key]: slice, links: { pages }, meta: { total: items.length } };
  };
  const err = (status: number, id: string, message: string) => ({ status, body: { id, message } });

  type Answer = { status: number; body?: Json; headers?: Record<string, string> };
  function handle(
    op: Operation,
    path: Record<string, unknown>,
    q: URLSearchParams,
    body: Json | undefined,
    base: string,
  ): Answer {
    const key = `${op.method} ${op.template}`;
    switch (key) {
      case 'GET /v2/account/keys':
        return { status: 200, body: page(keys, q, `${base}/v2/account/keys`, 'ssh_keys') };
      case 'POST /v2/account/keys': {
        const line = String(body!.public_key);
        if (!/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp\d+) [A-Za-z0-9+/=]+$/.test(line.trim()))
          return err(
            422,
            'unprocessable_entity',
            "Key invalid type, we support 'ssh-rsa', 'ssh-ed25519' and 'ecdsa-sha2'",
          );
        const fp = fingerprint(line);
        if (keys.some((k) => k.fingerprint === fp))
          return err(422, 'unprocessable_entity', 'SSH Key is already in use on your account');
        const k = { id: nextId++, name: String(body!.name), public_key: line.trim(), fingerprint: fp };
        keys.push(k);
        return { status: 201, body: { ssh_key: k } };
      }
      case 'GET /v2/droplets': {
        const tag = q.get('tag_name');
        const name = q.get('name');
        const list = [...droplets.values()]
          .filter((d) => (!tag || d.tags.includes(tag)) && (!name || d.name === name))
          .map(dropletJson);
        return { status: 200, body: page(list, q, `${base}/v2/droplets`, 'droplets') };
      }
      case 'POST /v2/droplets': {
        if (!('name' in body!)) return err(422, 'unprocessable_entity', 'the stand-in creates one droplet at a time');
        const name = String(body!.name);
        if (!/^[a-zA-Z0-9.-]{1,253}$/.test(name))
          return err(
            422,
            'unprocessable_entity',
            'Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)',
          );
        const regionSlug = String(body!.region ?? 'fra1');
        if (!REGIONS.includes(regionSlug))
          return err(422, 'unprocessable_entity', `Region is not available: ${regionSlug}`);
        const sizeSlug = String(body!.size);
        if (!SIZES.some((s) => s.slug === sizeSlug))
          return err(422, 'unprocessable_entity', 'You specified an invalid size for Droplet creation.');
        const img = body!.image as string | number;
        if (!(typeof img === 'string' ? IMAGES[img] : snapshots.some((s) => Number(s.id) === img)))
          return err(422, 'unprocessable_entity', 'You specified an invalid image for Droplet creation.');
        const named = (body!.ssh_keys ?? []) as (string | number)[];
        const chosen = named.map((n) => keys.find((k) => k.id === n || k.fingerprint === n));
        if (chosen.some((k) => !k))
          return err(422, 'unprocessable_entity', 'You specified an invalid SSH key for Droplet creation.');
        if (!chosen.length)
          return err(
            422,
            'unprocessable_entity',
            'the stand-in needs at least one SSH key (it mails no root password)',
          );
        const d: Droplet = {
          id: nextId++,
          name,
          region: regionSlug,
          size: sizeSlug,
          image: img,
          tags: (body!.tags ?? []) as string[],
          publicKeys: chosen.map((k) => k!.public_key),
          status: 'new',
          createdAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          booted: undefined as unknown as BootedDroplet,
          snapshotIds: [],
        };
        d.booted = boot({ name, publicKeys: d.publicKeys });
        d.booted.address.then(
          (a) => {
            if (droplets.has(d.id)) {
              d.address = a;
              d.status = 'active';
            }
          },
          (e: Error) => violations.push(`boot of ${name} failed: ${e.message}`),
        );
        droplets.set(d.id, d);
        return {
          status: 202,
          body: {
            droplet: dropletJson(d),
            links: { actions: [{ id: nextId++, rel: 'create', href: `${base}/v2/actions/${nextId - 1}` }] },
          },
        };
      }
      case 'GET /v2/droplets/{droplet_id}': {
        const d = droplets.get(path.droplet_id as number);
        return d
          ? { status: 200, body: { droplet: dropletJson(d) } }
          : err(404, 'not_found', 'The resource you were accessing could not be found.');
      }
      case 'DELETE /v2/droplets/{droplet_id}': {
        const d = droplets.get(path.droplet_id as number);
        if (!d) return err(404, 'not_found', 'The resource you were accessing could not be found.');
        droplets.delete(d.id);
        d.booted.stop().catch((e: Error) => violations.push(`stopping ${d.name} failed: ${e.message}`));
        return { status: 204, headers: { 'content-type': 'application/json; charset=utf-8' } };
      }
      case 'POST /v2/droplets/{droplet_id}/actions': {
        const d = droplets.get(path.droplet_id as number);
        if (!d) return err(404, 'not_found', 'The resource you were accessing could not be found.');
        if (body!.type !== 'snapshot')
          return err(422, 'unprocessable_entity', `the stand-in does not do ${String(body!.type)}`);
        const id = nextId++;
        const action: Json = {
          id,
          status: 'in-progress',
          type: 'snapshot',
          started_at: new Date().toISOString(),
          completed_at: null,
          resource_id: d.id,
          resource_type: 'droplet',
          region_slug: d.region,
        };
        actions.set(id, action);
        const name = typeof body!.name === 'string' ? body!.name : `${d.name}-${Date.now()}`;
        setTimeout(() => {
          const snapId = nextId++;
          snapshots.push({
            id: String(snapId),
            name,
            created_at: new Date().toISOString(),
            regions: [d.region],
            min_disk_size: size(d.size).disk,
            size_gigabytes: 2.5,
            resource_id: String(d.id),
            resource_type: 'droplet',
            tags: [],
          });
          d.snapshotIds.push(snapId);
          action.status = 'completed';
          action.completed_at = new Date().toISOString();
        }, opts.snapshotMs ?? 1500).unref();
        return { status: 201, body: { action } };
      }
      case 'GET /v2/actions/{action_id}': {
        const a = actions.get(path.action_id as number);
        return a
          ? { status: 200, body: { action: a } }
          : err(404, 'not_found', 'The resource you were accessing could not be found.');
      }
      case 'GET /v2/snapshots': {
        const type = q.get('resource_type');
        return {
          status: 200,
          body: page(
            snapshots.filter((s) => !type || s.resource_type === type),
            q,
            `${base}/v2/snapshots`,
            'snapshots',
          ),
        };
      }
      case 'GET /v2/sizes':
        return {
          status: 200,
          body: page(
            SIZES.map((s) => size(s.slug)),
            q,
            `${base}/v2/sizes`,
            'sizes',
          ),
        };
      default:
        violations.push(`${key}: described, but the stand-in does not implement it`);
        return err(400, 'bad_request', 'not implemented by the stand-in');
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse, base: string): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const op = ops.find((o) => o.method === method && o.re.test(url.pathname));
    const send = (a: Answer, template: string) => {
      log.push({ method, path: template, status: a.status, query: url.search });
      // the answer must be one the description gives for this operation and status
      if (op) {
        const v = op.responses.has(String(a.status)) ? op.responses.get(String(a.status)) : op.responses.get('default');
        if (v === undefined) violations.push(`${method} ${template}: answer ${a.status} is not described`);
        else if (v === null && a.body)
          violations.push(`${method} ${template}: answer ${a.status} has a body the description does not give`);
        else if (v && !v(a.body))
          violations.push(`${method} ${template}: answer ${a.status} does not match the description: ${errText(v)}`);
      }
      const headers: Record<string, string> = {
        'ratelimit-limit': '5000',
        'ratelimit-remaining': '4999',
        'ratelimit-reset': String(Math.floor(Date.now() / 1000) + 60),
        ...a.headers,
      };
      if (a.body) headers['content-type'] = 'application/json; charset=utf-8';
      res.writeHead(a.status, headers);
      res.end(a.body ? JSON.stringify(a.body) : undefined);
    };
    const reject = (why: string, template = url.pathname) => {
      violations.push(`${method} ${url.pathname}${url.search}: ${why}`);
      send({ status: 400, body: { id: 'bad_request', message: why } }, template);
    };
    if (!op) return reject('no such operation in the API description');
    // bearer_auth on every operation
    if (req.headers.authorization !== `Bearer ${opts.token}`) {
      return send({ status: 401, body: { id: 'Unauthorized', message: 'Unable to authenticate you' } }, op.template);
    }
    const m = op.re.exec(url.pathname)!;
    const path: Record<string, unknown> = {};
    for (const p of op.params) {
      let value: unknown;
      if (p.in === 'path') value = coerce(decodeURIComponent(m[op.pathNames.indexOf(p.name) + 1]!), p.schema);
      else if (p.in === 'query')
        value = url.searchParams.has(p.name) ? coerce(url.searchParams.get(p.name)!, p.schema) : undefined;
      else continue;
      if (value === undefined) {
        if (p.required) return reject(`missing ${p.in} parameter ${p.name}`, op.template);
        continue;
      }
      if (!p.validate(value)) return reject(`${p.in} parameter ${p.name}: ${errText(p.validate)}`, op.template);
      if (p.in === 'path') path[p.name] = value;
    }
    for (const k of url.searchParams.keys()) {
      if (!op.params.some((p) => p.in === 'query' && p.name === k))
        return reject(`query parameter ${k} is not described`, op.template);
    }
    let body: Json | undefined;
    if (op.body) {
      if (!raw) {
        if (op.bodyRequired) return reject('missing request body', op.template);
      } else {
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
          return reject('the body is not application/json', op.template);
        try {
          body = JSON.parse(raw) as Json;
        } catch {
          return reject('the body is not JSON', op.template);
        }
        if (!op.body(body)) return reject(`request body: ${errText(op.body)}`, op.template);
      }
    } else if (raw) return reject('a body where the description has none', op.template);
    const inj = injected.find((i) => i.method === method && i.path === op.template && i.times > 0);
    if (inj) {
      inj.times--;
      return send(
        {
          status: inj.status,
          headers: inj.headers,
          body: inj.body ?? { id: 'injected', message: `injected ${inj.status}` },
        },
        op.template,
      );
    }
    send(handle(op, path, url.searchParams, body, base), op.template);
  }

  const server = createServer((req, res) => {
    serve(req, res, base).catch((e: Error) => {
      violations.push(`stand-in crashed: ${e.stack}`);
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'server_error', message: 'stand-in crashed' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    violations,
    log,
    keys,
    droplets,
    snapshots,
    inject: (a) => injected.push({ ...a }),
    addKeys(count) {
      for (let i = 0; i < count; i++) {
        const blob = Buffer.concat([
          Buffer.from([0, 0, 0, 11]),
          Buffer.from('ssh-ed25519'),
          Buffer.from([0, 0, 0, 32]),
          createHash('sha256').update(`filler-${i}-${nextId}`).digest(),
        ]);
        const line = `ssh-ed25519 ${blob.toString('base64')}`;
        keys.push({ id: nextId++, name: `filler-${i}`, public_key: line, fingerprint: fingerprint(line) });
      }
    },
    async close() {
      await Promise.allSettled([...droplets.values()].map((d) => d.booted.stop()));
      droplets.clear();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
