// The DigitalOcean API client: openapi-fetch typed with the types openapi-typescript made
// from DigitalOcean's own API description (openapi/), so every path, parameter and body is
// checked by tsc against the published contract. This file adds what the contract leaves
// to clients (SPEC §8): the bearer token (never echoed), 429 waits for Retry-After, 5xx
// retried with backoff (bounded; a POST only when the server says it did nothing: 503),
// 401 and 422 turned into one clear message, and pagination.
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './openapi/digitalocean-api.js';
import { CommandError, ConfigError } from '../errors.js';
import type { ApiAccess } from './token.js';
import { unsafeChars } from '../unsafe-chars.js';

export type DoApi = Client<paths>;

interface RetryPolicy {
  /** attempts in all, first included */
  attempts: number;
  /** backoff before retry n (1-based) of a 5xx: baseMs * 2^(n-1), capped by maxWaitMs */
  baseMs: number;
  /** the longest single wait, Retry-After included */
  maxWaitMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseMs: 1000, maxWaitMs: 60_000 };

export interface DoClientOptions {
  retry?: Partial<RetryPolicy>;
  /** how waits happen (tests record them) */
  sleep?: (ms: number) => Promise<void>;
  /** told about each wait, e.g. "rate limited: waiting 3 s" */
  onWait?: (message: string) => void;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** How long a 429 asks us to wait: Retry-After (seconds or a date), else ratelimit-reset (epoch s). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ra = headers.get('retry-after');
  if (ra !== null && ra.trim() !== '') {
    if (/^\d+$/.test(ra.trim())) return Number(ra.trim()) * 1000;
    const at = Date.parse(ra);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('ratelimit-reset');
  if (reset && /^\d+$/.test(reset.trim())) return Math.max(0, Number(reset.trim()) * 1000 - now);
  return undefined;
}

export function createDoClient(access: ApiAccess, opts: DoClientOptions = {}): DoApi {
  const policy = { ...DEFAULT_RETRY, ...opts.retry };
  const sleep = opts.sleep ?? realSleep;
  const retryingFetch = async (request: Request): Promise<Response> => {
    const idempotent = request.method !== 'POST';
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(request.clone());
      } catch (err) {
        // the message of a network error names the address, never the headers
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message ?? (err as Error).message;
        if (idempotent && attempt < policy.attempts) {
          const wait = Math.min(policy.maxWaitMs, policy.baseMs * 2 ** (attempt - 1));
          opts.onWait?.(`DigitalOcean API unreachable (${why}): retrying in ${Math.round(wait / 1000)} s`);
          await sleep(wait);
          continue;
        }
        throw new CommandError(
          `cannot reach the DigitalOcean API at ${new URL(request.url).origin}: ${why}`,
          'check the network (or DIGITALOCEAN_API_URL)',
        );
      }
      const last = attempt >= policy.attempts;
      if (response.status === 429 && !last) {
        const asked = retryAfterMs(response.headers) ?? policy.baseMs * 2 ** (attempt - 1);
        const wait = Math.min(policy.maxWaitMs, asked);
        opts.onWait?.(`DigitalOcean API rate limit: waiting ${Math.ceil(wait / 1000)} s (Retry-After)`);
        await response.body?.cancel();
        await sleep(wait);
        continue;
      }
      if (response.status >= 500 && !last && (idempotent || response.status === 503)) {
        const wait = Math.min(policy.maxWaitMs, policy.baseMs * 2 ** (attempt - 1));
        opts.onWait?.(`DigitalOcean API answered ${response.status}: retrying in ${Math.round(wait / 1000)} s`);
        await response.body?.cancel();
        await sleep(wait);
        continue;
      }
      return response;
    }
  };
  return createClient<paths>({
    baseUrl: access.baseUrl,
    // revealed only into the one header that needs it
    headers: { Authorization: `Bearer ${access.token.reveal()}` },
    fetch: retryingFetch,
  });
}

/** The outcome of an openapi-fetch call, turned into data or one clear error. */
export function must<T>(r: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (r.response.ok && r.error === undefined) return r.data as T;
  throw apiError(r.response, r.error, what);
}

function apiError(response: Response, body: unknown, what: string): Error {
  const message =
    body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string'
      ? oneLine((body as { message: string }).message)
      : '';
  const status = response.status;
  if (status === 401) {
    return new ConfigError(
      `DigitalOcean rejected the token (401 Unauthorized) while trying to ${what}`,
      'the token is wrong, expired or revoked: make a new one in the control panel (API section) and set DIGITALOCEAN_ACCESS_TOKEN',
    );
  }
  if (status === 403)
    return new ConfigError(
      `DigitalOcean refused to ${what} (403${message ? `: ${message}` : ''})`,
      'the token lacks the scope for this (give it read and write access)',
    );
  if (status === 422)
    return new CommandError(
      `DigitalOcean refused to ${what}: ${message || 'unprocessable request (422)'}`,
      'change what the message names (region, size, image, name) and try again',
    );
  if (status === 429)
    return new CommandError(
      `DigitalOcean kept rate-limiting the request to ${what} (429)`,
      'wait a minute and try again',
    );
  if (status === 404)
    return new CommandError(
      `DigitalOcean: not found while trying to ${what}${message ? ` (${message})` : ''}`,
      'it may have been deleted meanwhile',
    );
  return new CommandError(
    `DigitalOcean answered ${status} while trying to ${what}${message ? `: ${message}` : ''}`,
    status >= 500 ? "a problem on DigitalOcean's side: try again later" : 'run again with --verbose',
  );
}

const API_UNSAFE = unsafeChars('\\u0000-\\u001f', { runs: true });

// API text lands on a terminal: one line, printable characters only
function oneLine(s: string): string {
  return s.replace(API_UNSAFE, ' ').trim().slice(0, 300);
}

const MAX_PAGES = 100;
export const PER_PAGE = 200;

/** Every item of a paginated list: pages of PER_PAGE until no `links.pages.next` (bounded). */
export async function allPages<T>(fetchPage: (page: number) => Promise<{ items: T[]; next: boolean }>): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { items, next } = await fetchPage(page);
    out.push(...items);
    if (!next || items.length === 0) return out;
  }
  throw new CommandError(
    `DigitalOcean: a list longer than ${MAX_PAGES} pages of ${PER_PAGE}`,
    'tidy up the account, or use a tag to narrow it',
  );
}

export function hasNext(body: { links?: { pages?: unknown } } | undefined): boolean {
  const pages = body?.links?.pages;
  return Boolean(pages && typeof pages === 'object' && typeof (pages as { next?: unknown }).next === 'string');
}
